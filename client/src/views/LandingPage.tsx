import { useEffect } from 'preact/hooks';
import { Link } from './Link.tsx';

export function LandingPage() {
  useEffect(() => {
    document.title = 'Knock';
  }, []);
  return (
    <main class="page page--narrow landing">
      <h1 class="landing-title">Knock — every person is a URL</h1>
      <p class="landing-lead">
        Get an address like <code>{location.host}/you</code>. Anyone who opens it sees whether you are around and can
        talk to you right away: no app, no account, any browser, phones too.
      </p>
      <p>
        <Link href="/_/signup" class="button button--primary">
          Sign up
        </Link>
      </p>
    </main>
  );
}
