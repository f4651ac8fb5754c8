/** The resume link of a visitor's conversation: whoever opens it continues the conversation, on any device. */
import { CopyButton } from './CopyButton.tsx';

export function ResumeLink({ resumePath }: { resumePath: string }) {
  const url = new URL(resumePath, location.origin).href;
  return (
    <p class="resume">
      <span>
        Continue on another device: <a href={resumePath}>{url}</a>
      </span>{' '}
      <CopyButton text={url} />
    </p>
  );
}
