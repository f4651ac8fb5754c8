/**
 * How many consumers one SFU core forwards before packet loss passes 1% (issue 23): mediasoup's worker (the one
 * `npm install` builds, as Knock runs it) against Janus's VideoRoom, one after the other in the same run, each pinned
 * to CPU 0 while this process, the load, runs on CPU 1.
 *
 * A conference of M members: each sends one VP8 video stream (~505 kbit/s) and one Opus stream (32 kbit/s) to the
 * SFU and receives every other member's two streams, so the SFU carries 2·M·(M-1) consumers (a consumer is one
 * stream to one receiver, mediasoup's unit). M grows step by step; each step runs `--seconds` after a warm-up, and
 * the figure is the last step whose loss stayed at or under 1%.
 *
 * Both SFUs are driven on their plain-RTP paths so that the load costs little and the same load drives both:
 *   - mediasoup: a PlainTransport per member to produce (plain RTP in), a PlainTransport with SRTP per member to
 *     consume (every packet encrypted, as for a browser);
 *   - Janus: a VideoRoom "remote publisher" per member (plain RTP in) and an RTP forwarder with SRTP per stream and
 *     receiver (bench/lib/janusPlainRtp.ts).
 * Left out on both: ICE and DTLS (setup only, not the steady state), and receivers' RTCP feedback (NACK, PLI, REMB),
 * which browsers would add. The load's own CPU is reported at every step: a step where it passes 0.9 cores measures
 * the load, not the SFU, and the run stops there and says so.
 *
 *   taskset -c 1 node --import tsx bench/sfuCapacity.ts [--members 4,6,8,...] [--seconds 8] [--only mediasoup,janus]
 *   node --import tsx bench/sfuCapacity.ts --smoke      # CI: two small steps on each, seconds, no figure asserted
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { types as ms } from 'mediasoup';
import { MEDIA_CODECS } from '../adapters/media/mediasoup/mediaCodecs.ts';
import type { JanusPlainRtp } from './lib/janusPlainRtp.ts';
import { pinProcess } from './lib/processes.ts';
import { cpuSeconds, machineInfo } from './lib/procfs.ts';
import { AUDIO_PT, RtpLoad, VIDEO_PT, type Window } from './lib/rtpLoad.ts';

const { values: args } = parseArgs({
  options: {
    members: { type: 'string' },
    seconds: { type: 'string', default: '8' },
    only: { type: 'string', default: 'mediasoup,janus' },
    smoke: { type: 'boolean', default: false },
    'sfu-cpu': { type: 'string', default: '0' },
    'load-cpu': { type: 'string', default: '1' },
    out: { type: 'string', default: 'bench/results' },
  },
});

const SMOKE = args.smoke;
const MEMBERS = (args.members ?? (SMOKE ? '3,4' : '4,8,12,16,20,22,24,26,28,30,32,34,36,38,40')).split(',').map(Number);
const SECONDS = SMOKE ? 1.5 : Number(args.seconds);
const WARMUP_MS = SMOKE ? 500 : 2000;
const LOSS_LIMIT = 0.01;
const LOAD_LIMIT_CORES = 0.9;
const SFUS = args.only.split(',') as Array<'mediasoup' | 'janus'>;
if (MEMBERS.some((m) => !Number.isInteger(m) || m < 2) || !(SECONDS > 0)) throw new Error('--members: integers of 2 or more; --seconds: a positive number');

export interface Step {
  members: number;
  consumers: number;
  window: Window;
  /** The SFU's CPU over the window, in cores. */
  sfuCores: number;
}

export interface SfuRun {
  sfu: 'mediasoup' | 'janus';
  version: string;
  steps: Step[];
  /** Consumers at the last step whose loss stayed at or under 1% (null: not even the first). */
  consumersAtOnePercent: number | null;
  /** Why the run stopped: loss over 1%, the load's own CPU, or the last step given. */
  stoppedBy: 'loss' | 'load' | 'steps';
}

/** One conference set up on an SFU, its members' RTP flowing through it. */
interface Conference {
  sfuPid: number;
  close(): Promise<void>;
}

interface Sfu {
  name: 'mediasoup' | 'janus';
  version: string;
  pid: number;
  conference(load: RtpLoad): Promise<Conference>;
  stop(): Promise<void>;
}

async function startMediasoup(): Promise<Sfu> {
  const mediasoup = await import('mediasoup');
  const worker = await mediasoup.createWorker({ logLevel: 'error', rtcMinPort: 40000, rtcMaxPort: 49999 });
  pinProcess(worker.pid, args['sfu-cpu']);
  return {
    name: 'mediasoup',
    version: mediasoup.version,
    pid: worker.pid,
    async conference(load) {
      const router = await worker.createRouter({ mediaCodecs: MEDIA_CODECS });
      const producers: ms.Producer[] = [];
      for (const member of load.members) {
        const send = await router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: true, comedia: true });
        member.sendVideoTo = { port: send.tuple.localPort };
        member.sendAudioTo = { port: send.tuple.localPort };
        producers.push(
          await send.produce({
            kind: 'video',
            rtpParameters: { codecs: [{ mimeType: 'video/VP8', payloadType: VIDEO_PT, clockRate: 90000 }], encodings: [{ ssrc: member.ssrc.video }] },
            appData: { member: member.index },
          }),
          await send.produce({
            kind: 'audio',
            rtpParameters: { codecs: [{ mimeType: 'audio/opus', payloadType: AUDIO_PT, clockRate: 48000, channels: 2 }], encodings: [{ ssrc: member.ssrc.audio }] },
            appData: { member: member.index },
          }),
        );
      }
      for (const member of load.members) {
        const recv = await router.createPlainTransport({
          listenInfo: { protocol: 'udp', ip: '127.0.0.1' },
          rtcpMux: true,
          comedia: false,
          enableSrtp: true,
          srtpCryptoSuite: 'AES_CM_128_HMAC_SHA1_80',
        });
        await recv.connect({
          ip: '127.0.0.1',
          port: member.receivePort,
          srtpParameters: { cryptoSuite: 'AES_CM_128_HMAC_SHA1_80', keyBase64: randomBytes(30).toString('base64') },
        });
        for (const producer of producers) {
          if (producer.appData.member === member.index) continue;
          await recv.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities });
        }
      }
      return { sfuPid: worker.pid, close: async () => router.close() };
    },
    async stop() {
      worker.close();
    },
  };
}

async function startJanus(): Promise<Sfu> {
  const { startJanusPlainRtp } = await import('./lib/janusPlainRtp.ts');
  const janus: JanusPlainRtp = await startJanusPlainRtp({ cpu: Number(args['sfu-cpu']) });
  let version = 'janus';
  try {
    version = execFileSync('dpkg-query', ['-W', '-f=${Version}', 'janus'], { encoding: 'utf8' });
  } catch {
    // not from Debian: the name is enough
  }
  return {
    name: 'janus',
    version,
    pid: janus.pid,
    async conference(load) {
      const room = await janus.createRoom();
      const publishers: number[] = [];
      for (const member of load.members) {
        const added = await janus.addPublisher(room, member.index, member.ssrc);
        member.sendVideoTo = { port: added.videoPort };
        member.sendAudioTo = { port: added.audioPort };
        member.useSsrc(added.ssrc);
        publishers.push(added.publisherId);
      }
      for (const member of load.members) {
        for (const [index, publisherId] of publishers.entries()) {
          if (index !== member.index) await janus.forward(room, publisherId, member.receivePort);
        }
      }
      return { sfuPid: janus.pid, close: () => janus.destroyRoom(room) };
    },
    stop: () => janus.stop(),
  };
}

async function runSfu(sfu: Sfu): Promise<SfuRun> {
  const steps: Step[] = [];
  let stoppedBy: SfuRun['stoppedBy'] = 'steps';
  for (const members of MEMBERS) {
    const load = await RtpLoad.create(members, 0x1000_0000 + members * 1000);
    const conference = await sfu.conference(load);
    try {
      load.start();
      await new Promise((resolve) => setTimeout(resolve, WARMUP_MS));
      const cpu0 = cpuSeconds(conference.sfuPid);
      const t0 = performance.now();
      const window = await load.measure(SECONDS * 1000, 100);
      const sfuCores = (cpuSeconds(conference.sfuPid) - cpu0) / ((performance.now() - t0) / 1000);
      const step: Step = { members, consumers: 2 * members * (members - 1), window, sfuCores };
      steps.push(step);
      console.log(
        `${sfu.name.padEnd(9)} ${String(members).padStart(3)} members ${String(step.consumers).padStart(5)} consumers  ` +
          `loss ${(window.loss * 100).toFixed(2).padStart(6)}%  out ${window.outMbps.toFixed(0).padStart(4)} Mbit/s  ` +
          `SFU ${sfuCores.toFixed(2)} cores  load ${window.loadCores.toFixed(2)} cores`,
      );
      if (SMOKE) continue; // every step runs: the smoke checks the path, on a machine busy with other tests
      if (window.loadCores > LOAD_LIMIT_CORES) {
        stoppedBy = 'load';
        break;
      }
      if (window.loss > LOSS_LIMIT) {
        stoppedBy = 'loss';
        break;
      }
    } finally {
      load.stop();
      await conference.close();
      await load.close();
    }
  }
  const within = steps.filter((s) => s.window.loss <= LOSS_LIMIT && s.window.loadCores <= LOAD_LIMIT_CORES);
  return { sfu: sfu.name, version: sfu.version, steps, consumersAtOnePercent: within.at(-1)?.consumers ?? null, stoppedBy };
}

async function main(): Promise<void> {
  pinProcess(process.pid, args['load-cpu']);
  const runs: SfuRun[] = [];
  for (const name of SFUS) {
    const sfu = name === 'mediasoup' ? await startMediasoup() : await startJanus();
    try {
      runs.push(await runSfu(sfu));
    } finally {
      await sfu.stop();
    }
  }
  console.log('\nSFU        version    consumers at <= 1% loss   stopped by');
  for (const r of runs) {
    console.log(`${r.sfu.padEnd(10)} ${r.version.padEnd(10)} ${String(r.consumersAtOnePercent ?? 'none').padStart(23)}   ${r.stoppedBy}`);
  }
  const report = { at: new Date().toISOString(), smoke: SMOKE, seconds: SECONDS, machine: machineInfo(), runs };
  await mkdir(args.out, { recursive: true });
  const file = path.join(args.out, `sfu-${report.at.replace(/[:.]/g, '-')}.json`);
  await writeFile(file, JSON.stringify(report, null, 2));
  console.log(`\nWritten to ${file}`);
}

await main();
