/** A moment as Settings' lists show it: day and time in the reader's locale, the full date on hover, ISO for machines. */
import { fullDate, isoDate } from '../timeFormat.ts';

export function WhenTime({ at }: { at: number }) {
  return (
    <time dateTime={isoDate(at)} title={fullDate(at)}>
      {new Date(at).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })}
    </time>
  );
}
