/**
 * Recovery codes, shown once (issue 22): when two-factor sign-in is turned on and when new ones are made. A list to
 * read, "Copy" and "Download" to keep them, and a line saying they will not be shown again. The focus moves to them,
 * so nobody misses them.
 */
import { useEffect, useId, useMemo, useRef } from 'preact/hooks';
import { CopyButton } from './CopyButton.tsx';

export function RecoveryCodesShown({ codes, onDone }: { codes: readonly string[]; onDone: () => void }) {
  const headingId = useId();
  const heading = useRef<HTMLHeadingElement>(null);
  const text = `${codes.join('\n')}\n`;
  const href = useMemo(() => URL.createObjectURL(new Blob([text], { type: 'text/plain' })), [text]);
  useEffect(() => () => URL.revokeObjectURL(href), [href]);
  useEffect(() => heading.current?.focus(), []);
  return (
    <div class="recovery-codes" role="group" aria-labelledby={headingId}>
      <h4 id={headingId} ref={heading} tabIndex={-1}>
        Your recovery codes
      </h4>
      <p>Each one signs you in once when you cannot use your app or passkey. Keep them somewhere safe: they will not be shown again.</p>
      <ul class="recovery-code-list" aria-labelledby={headingId}>
        {codes.map((code) => (
          <li key={code}>
            <code>{code}</code>
          </li>
        ))}
      </ul>
      <p class="settings-row">
        <CopyButton text={text} label="Copy" />
        <a class="button button--small" href={href} download="knock-recovery-codes.txt">
          Download
        </a>
        <button type="button" class="button button--small" onClick={onDone}>
          I have kept them
        </button>
      </p>
    </div>
  );
}
