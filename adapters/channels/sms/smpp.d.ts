/**
 * Types for the parts of the `smpp` npm package (0.5.1, plain JavaScript, no types of its own) that Knock uses: its PDU
 * codec (the SMS channel) and its Session and Server (the loopback SMSC of the tests). Read from node_modules/smpp/lib.
 *
 * @example
 *   import smpp from 'smpp';
 *   const frame: Buffer = new smpp.PDU('enquire_link', {}).toBuffer();
 */
declare module 'smpp' {
  import type { Server as NetServer, Socket } from 'node:net';
  import type { EventEmitter } from 'node:events';

  /** A PDU: the header fields, then the command's fields and TLVs by name (decoded by the package's filters). */
  export class PDU {
    constructor(command: string, options?: Record<string, unknown>);
    constructor(buffer: Buffer);
    command: string;
    command_length: number;
    command_id: number;
    command_status: number;
    sequence_number: number;
    [field: string]: unknown;
    isResponse(): boolean;
    response(options?: Record<string, unknown>): PDU;
    toBuffer(): Buffer;
    static maxLength: number;
  }

  /** One SMPP connection: `session.<command>(fields, onResponse)` sends a request; events are named by command. */
  export class Session extends EventEmitter {
    socket: Socket;
    send(pdu: PDU, onResponse?: (pdu: PDU) => void, onSent?: (pdu: PDU) => void): boolean;
    close(callback?: () => void): void;
    destroy(callback?: () => void): void;
    deliver_sm(fields: Record<string, unknown>, onResponse?: (pdu: PDU) => void): boolean;
    [command: string]: unknown;
  }

  export interface Server extends NetServer {
    sessions: Session[];
  }

  export function createServer(options: Record<string, unknown>, listener?: (session: Session) => void): Server;
  export function connect(url: string | Record<string, unknown>, listener?: () => void): Session;

  export const errors: Record<string, number>;
  export const commandsById: Record<number, { command: string }>;

  const smpp: {
    PDU: typeof PDU;
    Session: typeof Session;
    createServer: typeof createServer;
    connect: typeof connect;
    errors: typeof errors;
    commandsById: typeof commandsById;
  };
  export default smpp;
}
