/** A moment as its day ("12 Mar"), the full date and time in its tooltip, machine-readable in `dateTime`. */
import { dayDate, fullDate, isoDate } from '../timeFormat.ts';

export function DayTime({ at }: { at: number }) {
  return (
    <time dateTime={isoDate(at)} title={fullDate(at)}>
      {dayDate(at)}
    </time>
  );
}
