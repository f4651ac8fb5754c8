/**
 * The shape of a bench report (bench/results/<timestamp>.json): what every scenario measured, the targets of
 * issue #3 checked against the plain-ws relay measured in the same run, and how the run was made. The HTML report
 * and the terminal table are drawn from this alone; test/bench/smoke.test.ts checks it.
 */
import type { LatencySummary } from './lib/histogram.ts';
import type { Durability } from './peers/durability.ts';

export interface CpuUse {
  /** Average cores busy over the step (1 = one core all the time). */
  server: number;
  load: number;
  /** Everything else on the machine (databases, the kernel's I/O threads, other users' processes). */
  other: number;
  /** Cores idle while a process waited for the disk (fsync), and cores the hypervisor took. */
  iowait: number;
  steal: number;
}

export interface LoadStep {
  mode: 'closed' | 'open';
  /** Open loop: the rate offered (messages/s); closed loop: null. */
  offeredPerSec: number | null;
  /** Closed loop: messages in flight per pair. */
  window: number | null;
  windowMs: number;
  sentPerSec: number;
  /** Messages sent over the whole step (warm-up and window), and how many of them reached the other party by the end of the drain. */
  sent: number;
  delivered: number;
  /** Messages the other party received, per second of the window. */
  deliveredPerSec: number;
  /** Delivered messages per second of server CPU: what a fully used core would relay at this efficiency. */
  perServerCpuSecond: number;
  /** Send to the other party's receipt, messages sent in the window. */
  latency: LatencySummary;
  /** Send to the sender's ack (null for plain ws, which acks nothing). */
  ackLatency: LatencySummary | null;
  /** [percentile, ms] of `latency`, for the latency-distribution plot. */
  spectrum: Array<[number, number]>;
  undelivered: number;
  errors: number;
  /** Open loop: the worst a load process fell behind its schedule (ms). */
  maxLagMs: number;
  cpu: CpuUse;
  /** The load processes, not the server, were the limit (their CPU was full, or they sent below the offer). */
  loadBound: boolean;
  firstErrors: string[];
}

export interface ThroughputResult {
  server: string;
  label: string;
  pairs: number;
  pairsOpened: number;
  /** Closed loop with `window` messages in flight per pair. */
  saturation: LoadStep;
  /** Open loop, ascending offered rate. */
  steps: LoadStep[];
  /** The highest open-loop rate delivered in full (>= 97% of it, nothing left undelivered), if any. */
  sustainedPerSec: number | null;
  /**
   * Open-loop rates not run because they were far above this server's own saturation (the XMPP peers): such a step
   * only measures a queue growing, and its backlog would spill into the next step.
   */
  skippedRates?: number[];
}

export interface MemoryPoint {
  /** The count this point was meant to reach. */
  planned: number;
  /** Connections open when memory was read (opened and not closed by the server since). */
  connections: number;
  /** Connections the server closed since they opened (a missed pong: Knock closes a socket after one). */
  dropped: number;
  rssBytes: number;
  heapUsedBytes: number | null;
  /** (RSS - RSS at the baseline) / (connections - baseline connections). */
  bytesPerConnection: number;
  /** The server's CPU while these connections sat idle (pings, timers). */
  idleCpuCores: number;
  /** The load processes' CPU meanwhile (answering the pings); near their CPU count, they were the limit. */
  idleLoadCpuCores: number;
  openedPerSec: number;
  /** CPU while these connections were being opened. */
  openingCpu: CpuUse;
  failed: number;
}

export interface MemorySeries {
  server: string;
  label: string;
  /**
   * visitor: a URL open (joined its UserRoom); owner: online at their URL (a room each); plain: a bare socket;
   * user: an XMPP user logged in (SASL PLAIN, resource bound, available presence), then idle.
   */
  shape: 'visitor' | 'owner' | 'plain' | 'user';
  baseline: { connections: number; rssBytes: number; heapUsedBytes: number | null };
  points: MemoryPoint[];
  gc: boolean;
  firstErrors: string[];
}

export interface ActivationResult {
  server: string;
  label: string;
  /** Rooms open while the activations ran. */
  roomsOpen: number;
  /**
   * What held those rooms open: each its owner online (pinged every 800 ms, presence renewed) or each one idle
   * visitor with the owner offline (pinged every 10 s): the second isolates what the number of rooms costs.
   */
  heldBy: 'none' | 'owners' | 'visitors';
  handles: number;
  activated: number;
  failed: number;
  perSec: number;
  /** One activation: join (room created) until welcome. */
  latency: LatencySummary;
  cpu: CpuUse;
  /** The server's CPU just before, with the open rooms' connections idle (pings, presence renewals). */
  idleCpuCores: number;
  /** Server CPU per activation beyond that idle load: the cost of one activation itself. */
  cpuMsPerActivation: number;
  /** The load processes' CPU was full: the rate is what they could drive, not what the server could do. */
  loadBound: boolean;
  firstErrors: string[];
}

export interface OpenUrlResult {
  server: string;
  label: string;
  visitors: number;
  failed: number;
  openToReady: LatencySummary;
  knockToFirstAck: LatencySummary;
  firstErrors: string[];
}

/** fdatasync of a 4 KiB write on the filesystem of Knock's data directory: what a durable SQLite commit waits for. */
export interface StorageProbe {
  path: string;
  fsyncs: number;
  latency: LatencySummary;
}

export interface ClusterResult {
  skipped: string | null;
  pairs: number;
  /** Saturation of one process on PostgreSQL + Redis, and of two. */
  single: LoadStep | null;
  double: LoadStep | null;
  /** Open loop at half the one-process saturation, on one process and on two. */
  singleAtHalf: LoadStep | null;
  doubleAtHalf: LoadStep | null;
  cpusPerProcess: string[];
  note: string;
}

export interface DriverMicroPoint {
  driver: 'LocalDriver' | 'IndexedDriver';
  rooms: number;
  /** findOne by filter value of an open room (joinOrCreate on an open URL). */
  findPerSec: number;
  /** findOne that misses + createInstance + save + remove (a room activated and disposed). */
  createPerSec: number;
}

/** Yjs updates through Knock's DocRoom: keystrokes of one editor delivered to the other editor of the document. */
export interface DocSyncResult {
  server: string;
  label: string;
  /** Documents planned and opened; each has two editors (the SDK's DocProvider): the visitor and the owner. */
  docs: number;
  docsOpened: number;
  editorsPerDoc: number;
  /** Closed loop: `window` keystrokes in flight per document (a message here is one Yjs update of one character). */
  saturation: LoadStep;
  /** Open loop at fractions of the saturation, ascending. */
  steps: LoadStep[];
}

/** Pong games running at once: the ticks their players received, and what they cost the server. */
export interface GamesPoint {
  /** Games started so far (the point's count), and those still playing (not over by score) at the window's end. */
  games: number;
  running: number;
  /** States received by one player of each running game, per second, summed over games: ticks served. */
  ticksPerSec: number;
  /** running × the game's tick rate: what a server that keeps up serves. */
  expectedTicksPerSec: number;
  /** States received by both players, per second. */
  statesPerSec: number;
  inputsPerSec: number;
  cpu: CpuUse;
  /** (server cores with the games − server cores with them left) / running games: a fraction of a core. */
  cpuPerGame: number;
  loadBound: boolean;
}

export interface GamesResult {
  server: string;
  label: string;
  game: string;
  /** The game's configured tick rate (Hz). */
  tickHz: number;
  windowMs: number;
  /** The server's CPU with every game left and the conversation sockets still open (the baseline subtracted). */
  idleCpuCores: number;
  points: GamesPoint[];
  failed: number;
  firstErrors: string[];
}

/** An XMPP server measured beside Knock (bench/peers/): how it was set up and what it does with a message. */
export interface PeerRun {
  server: string;
  label: string;
  /** The Debian package's version. */
  version: string;
  /** The configuration lines that decide how messages are stored. */
  storageLines: string[];
  durability: Durability;
  /** From spawning the daemon to its client port accepting connections. */
  startMs: number;
  /** Accounts registered in-band before the load, and how fast. */
  registered: number;
  registeredPerSec: number;
}

export interface TargetCheck {
  id: string;
  label: string;
  measured: string;
  required: string;
  /** The measured ratio or value compared with `threshold`. */
  value: number | null;
  threshold: number;
  /** null: not measured in this run (mode, or a scenario was skipped). */
  met: boolean | null;
  note: string;
}

export interface BenchReport {
  version: 1;
  mode: string;
  command: string;
  startedAt: string;
  durationMs: number;
  machine: { cpus: number; model: string; memoryBytes: number; node: string; kernel: string; loadAverageStart: number[]; loadAverageEnd: number[]; openFilesLimit: string };
  pinning: { serverCpus: string; loadCpus: string; clusterCpus: string[] };
  git: { commit: string; dirty: boolean } | null;
  throughput: ThroughputResult[];
  memory: MemorySeries[];
  activation: ActivationResult[];
  openUrl: OpenUrlResult[];
  cluster: ClusterResult;
  driverMicro: DriverMicroPoint[];
  docSync: DocSyncResult | null;
  games: GamesResult | null;
  /** Measured just before Knock's relay throughput. */
  storageProbe: StorageProbe | null;
  /** The XMPP servers run in this report (their figures are in throughput and memory, by server). */
  peers: PeerRun[];
  targets: TargetCheck[];
  /** CPU other processes on the machine used during the measurements (cores), over every step, ramp and activation. */
  contention: { meanOtherCores: number; maxOtherCores: number; samples: number };
  errors: string[];
}
