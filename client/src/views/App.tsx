/** Picks the page from the current path. */
import { RouterContext, homeOfPage, parseRoute, type BrowserRouter } from '../router.ts';
import { LandingPage } from './LandingPage.tsx';
import { SignupPage } from './SignupPage.tsx';
import { LazyCompanyView } from './LazyCompanyView.tsx';
import { ProfilePage } from './ProfilePage.tsx';
import { Link } from './Link.tsx';

export function App({ router }: { router: BrowserRouter }) {
  const { pathname, search } = router.location.value;
  const route = parseRoute(pathname, search, homeOfPage(document));
  let page;
  switch (route.kind) {
    case 'landing':
      page = <LandingPage />;
      break;
    case 'signup':
      page = <SignupPage initialHandle={route.handle} />;
      break;
    case 'join':
      page = <LazyCompanyView view="JoinPage" props={{ token: route.token }} />;
      break;
    case 'reset':
      page = <LazyCompanyView view="ResetPage" props={{ handle: route.handle }} />;
      break;
    case 'profile':
      // Keyed: another person or another resume link is another page, with its own sessions.
      page = (
        <ProfilePage key={`${route.handle}/${route.resumeToken ?? ''}`} handle={route.handle} resumeToken={route.resumeToken} />
      );
      break;
    case 'unknown':
      page = <UnknownPage />;
      break;
    default:
      page = assertNever(route);
  }
  return <RouterContext.Provider value={router}>{page}</RouterContext.Provider>;
}

function UnknownPage() {
  return (
    <main class="page page--narrow">
      <h1>Nothing here</h1>
      <p>
        This address does not exist. <Link href="/">Go to the start page</Link>.
      </p>
    </main>
  );
}

function assertNever(value: never): never {
  throw new Error(`Unhandled route: ${JSON.stringify(value)}`);
}
