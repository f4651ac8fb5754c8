/**
 * The files of a message (a `file` event): images as thumbnails, each inside a link to the full image; other files as
 * a card with their name (the link that downloads them), size and type. Thumbnails are made by the server (no EXIF)
 * and sized from the image's own proportions before they load, so the list does not jump as they arrive.
 */
import { useId } from 'preact/hooks';
import type { FileRef } from '../../../engine/protocol.ts';
import { formatBytes } from '../sizeFormat.ts';

/** The largest side of a thumbnail on screen, in CSS pixels (CSS narrows it further on a phone). */
const THUMB_BOX_PX = 240;

/** Where a file downloads from (members only; the server answers with `Content-Disposition: attachment`). */
export function fileUrl(file: FileRef): string {
  return `/_/files/${encodeURIComponent(file.id)}/${encodeURIComponent(file.name)}`;
}

export function thumbnailUrl(file: FileRef): string {
  return `/_/files/${encodeURIComponent(file.id)}/thumb`;
}

export function MessageFiles({ files }: { files: readonly FileRef[] }) {
  return (
    <div class="message-files">
      {files.map((file) => (file.image === null ? <FileCard key={file.id} file={file} /> : <ImageFile key={file.id} file={file} image={file.image} />))}
    </div>
  );
}

function ImageFile({ file, image }: { file: FileRef; image: { width: number; height: number } }) {
  const scale = Math.min(1, THUMB_BOX_PX / Math.max(image.width, image.height));
  return (
    <a class="file-image" href={fileUrl(file)} title={`${file.name}, ${formatBytes(file.size)}`}>
      <img
        src={thumbnailUrl(file)}
        alt={file.name}
        width={Math.max(1, Math.round(image.width * scale))}
        height={Math.max(1, Math.round(image.height * scale))}
        loading="lazy"
        decoding="async"
      />
    </a>
  );
}

function FileCard({ file }: { file: FileRef }) {
  const metaId = useId();
  return (
    <div class="file-card">
      <span class="file-card-icon" aria-hidden="true">
        📎
      </span>
      <span class="file-card-text">
        {/* The link's name is the file's name alone; its size and type describe it. */}
        <a class="file-card-name" href={fileUrl(file)} download={file.name} aria-describedby={metaId}>
          {file.name}
        </a>
        <span class="file-card-meta" id={metaId}>
          {formatBytes(file.size)} · {typeLabel(file)}
        </span>
      </span>
    </div>
  );
}

const KNOWN_TYPES: Readonly<Record<string, string>> = {
  'application/pdf': 'PDF document',
  'application/zip': 'ZIP archive',
  'text/plain': 'Text',
  'text/csv': 'CSV table',
  'text/html': 'HTML page',
  'image/svg+xml': 'SVG image',
  'application/json': 'JSON',
};

/** "PDF document", "PNG image", "DOCX file": the type Knock decided, in words; the extension when it is generic. */
export function typeLabel(file: Pick<FileRef, 'type' | 'name'>): string {
  const type = file.type.split(';')[0]?.trim().toLowerCase() ?? '';
  const known = KNOWN_TYPES[type];
  if (known !== undefined) return known;
  const [group, sub] = type.split('/');
  if ((group === 'image' || group === 'audio' || group === 'video') && sub !== undefined && /^[a-z0-9.+-]{1,12}$/.test(sub)) {
    return `${sub.replace(/^x-/, '').toUpperCase()} ${group}`;
  }
  const extension = /\.([A-Za-z0-9]{1,8})$/.exec(file.name)?.[1];
  return extension === undefined ? 'File' : `${extension.toUpperCase()} file`;
}
