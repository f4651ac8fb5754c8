/** The resume link of a visitor's conversation: whoever opens it continues the conversation, on any device. */
import { CopyButton } from './CopyButton.tsx';

/** `newTab`: in the widget's chat frame, where the link's page may not be framed, it opens in a tab of its own. */
export function ResumeLink({ resumePath, newTab = false }: { resumePath: string; newTab?: boolean }) {
  const url = new URL(resumePath, location.origin).href;
  return (
    <p class="resume">
      <span>
        Continue on another device:{' '}
        <a href={resumePath} {...(newTab ? { target: '_blank', rel: 'noopener' } : {})}>
          {url}
        </a>
      </span>{' '}
      <CopyButton text={url} />
    </p>
  );
}
