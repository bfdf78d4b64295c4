// A subscriber of Backstop's backup events in Node, with only Backstop's schema bundle (no Java):
// kafkajs consumes, avsc decodes, released/index.json says which schema wrote each message.
// Prints one line per event:  <partition>:<offset> <Event> v<version> addon=<key> <what happened>
//
// Settings (environment): KAFKA_BROKERS (host:port, comma-separated; default localhost:9092),
// BACKSTOP_BUNDLE (the released folder; default this repository's), TOPIC (default backstop.backup-events),
// GROUP_ID (default a new group each run, so it reads from the start), UNTIL_END=1 to stop once it has
// read every message that was on the topic when it started (the test suite uses it).
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import avro from 'avsc';
import { Kafka, logLevel } from 'kafkajs';

const here = dirname(fileURLToPath(import.meta.url));
const bundleDir = resolve(process.env.BACKSTOP_BUNDLE ?? join(here, '../../schemas/src/main/resources/released'));
const brokers = (process.env.KAFKA_BROKERS ?? 'localhost:9092').split(',');
const topic = process.env.TOPIC ?? 'backstop.backup-events';
const groupId = process.env.GROUP_ID ?? `node-subscriber-${process.pid}-${Date.now()}`;
const untilEnd = process.env.UNTIL_END === '1';

/**
 * The bundle: writer schemas keyed by the 8 fingerprint bytes as they appear in a message (hex), and
 * per event its latest version, which this subscriber reads everything as (its reader schema).
 * Each released file is self-contained, so each is parsed alone, with its own registry.
 */
function loadBundle(dir) {
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
  const writers = new Map();
  const readers = new Map();
  for (const entry of index.schemas) {
    const type = avro.Type.forSchema(JSON.parse(readFileSync(join(dir, entry.file), 'utf8')), { registry: {} });
    writers.set(entry.fingerprintBytes, { ...entry, type });
    if (entry.latest) {
      readers.set(entry.event, type);
    }
  }
  for (const writer of writers.values()) {
    const reader = readers.get(writer.event);
    // an older writer is read through a resolver: fields it lacks take the reader's defaults
    writer.resolver = reader === writer.type ? null : reader.createResolver(writer.type);
    writer.reader = reader;
  }
  return writers;
}

/** Decodes one Avro single-object message: C3 01, 8 fingerprint bytes, the body. */
function decode(writers, message) {
  if (message.length < 10 || message[0] !== 0xc3 || message[1] !== 0x01) {
    throw new Error('not an Avro single-object message');
  }
  const fingerprint = message.subarray(2, 10).toString('hex');
  const writer = writers.get(fingerprint);
  if (!writer) {
    // a producer newer than this bundle: stop rather than skip an event (schemas/README.md)
    throw new Error(`unknown schema fingerprint ${fingerprint}: update the schema bundle`);
  }
  const body = message.subarray(10);
  const event = writer.resolver ? writer.reader.fromBuffer(body, writer.resolver) : writer.type.fromBuffer(body);
  return { name: writer.event, version: writer.version, event };
}

// timestamps are timestamp-millis longs: avsc without a logical-type hook hands over bare numbers
const iso = (millis) => (millis == null ? '-' : new Date(millis).toISOString());

/** What happened, in a few words per event type; anything newer still gets its name and version. */
function describe({ name, event: e }) {
  switch (name) {
    case 'BackupStarted':
      return `backup=${e.backupId} kind=${e.kind} started=${iso(e.startedAt)}`;
    case 'BackupCompleted':
      return `backup=${e.backupId} kind=${e.kind} size=${e.sizeBytes} completed=${iso(e.completedAt)}`;
    case 'BackupFailed':
      return `backup=${e.backupId} kind=${e.kind} failed=${iso(e.failedAt)} reason=${JSON.stringify(e.reason)}`;
    case 'BackupVerified':
      return `backup=${e.backupId} passed=${e.passed} verified=${iso(e.verifiedAt)}`;
    case 'BackupPruned':
      return `backup=${e.backupId} pruned=${iso(e.prunedAt)} reason=${JSON.stringify(e.reason)}`;
    case 'BackupMissed':
      return `missed=${e.missedId} date=${e.localDate} finding=${e.finding} due=${iso(e.scheduledAt)}`;
    default:
      return e.backupId ? `backup=${e.backupId}` : '';
  }
}

async function main() {
  const writers = loadBundle(bundleDir);
  const kafka = new Kafka({ clientId: 'backstop-node-subscriber', brokers, logLevel: logLevel.WARN });

  // where the topic ends now, per partition: with UNTIL_END the subscriber stops there
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, BigInt(p.high)]));
  await admin.disconnect();
  const remaining = new Set([...ends].filter(([, high]) => high > 0n).map(([partition]) => partition));

  const consumer = kafka.consumer({ groupId });
  let finish;
  const finished = new Promise((resolveFinished) => { finish = resolveFinished; });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      let decoded;
      try {
        decoded = decode(writers, message.value);
      } catch (error) {
        // never skip an event silently: stop, say where, and let the operator update the bundle
        console.error(`partition ${partition} offset ${message.offset}: ${error.message}`);
        process.exit(2);
      }
      const addon = message.key ? message.key.toString('utf8') : '-';
      console.log(`${partition}:${message.offset} ${decoded.name} v${decoded.version} addon=${addon} ${describe(decoded)}`.trimEnd());
      if (untilEnd && BigInt(message.offset) + 1n >= ends.get(partition)) {
        remaining.delete(partition);
        if (remaining.size === 0) {
          finish();
        }
      }
    },
  });
  if (untilEnd) {
    if (remaining.size === 0) {
      finish();
    }
    await finished;
    await consumer.disconnect();
  } else {
    for (const signal of ['SIGINT', 'SIGTERM']) {
      process.once(signal, () => consumer.disconnect().finally(() => process.exit(0)));
    }
  }
}

main().catch((error) => {
  console.error(`subscriber failed: ${error.message}`);
  process.exit(1);
});
