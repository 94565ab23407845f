import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

/**
 * A real SMTP server on loopback (smtp-server, port 0, no auth, no STARTTLS) that keeps
 * every message it accepts, raw and parsed (mailparser), in memory. A message is parsed
 * before the server answers 250, so it is in {@link SmtpSink.messages} by the time the
 * client's `sendMail` resolves.
 */

export interface ReceivedMail {
  envelope: { from: string | null; to: string[] };
  /** the message as it came over the wire */
  raw: Buffer;
  parsed: ParsedMail;
}

/** A running sink: where to send, what arrived, and a switch to refuse recipients. */
export interface SmtpSink {
  host: string;
  port: number;
  messages: ReceivedMail[];
  /**
   * Answer every `RCPT TO` with this reply code (`450` mailbox busy: transient; `550` no
   * such mailbox: permanent) until set back to null.
   */
  rejectRecipients(code: number | null): void;
  /**
   * While on, a message is read but not answered: the sender waits for its 250, as it does
   * on a slow or throttling mail server. Turning it off answers the held ones.
   */
  holdMessages(on: boolean): void;
  /** messages read and waiting for their answer */
  readonly held: number;
  close(): Promise<void>;
}

/** Starts a sink on 127.0.0.1, on a port the system picks. */
export async function startSmtpSink(): Promise<SmtpSink> {
  const messages: ReceivedMail[] = [];
  let rejectCode: number | null = null;
  let holding = false;
  let held: (() => void)[] = [];

  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    logger: false,
    onRcptTo(address, _session, callback) {
      if (rejectCode === null) return callback();
      callback(Object.assign(new Error(`mailbox ${address.address} unavailable`), { responseCode: rejectCode }));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('error', (error: Error) => callback(error));
      stream.on('end', () => {
        if (holding) held.push(accept);
        else accept();
      });
      const accept = () => {
        const raw = Buffer.concat(chunks);
        simpleParser(raw)
          .then((parsed) => {
            const from = session.envelope.mailFrom;
            messages.push({
              envelope: { from: from ? from.address : null, to: session.envelope.rcptTo.map((r) => r.address) },
              raw,
              parsed,
            });
            callback();
          })
          .catch((error: unknown) => callback(error instanceof Error ? error : new Error(String(error))));
      };
    },
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  // A client that goes away mid-conversation (a killed sender) is an error event on the
  // server; unheard, it would end the process that hosts the sink.
  server.on('error', () => {});
  const { port } = server.server.address() as AddressInfo;

  return {
    host: '127.0.0.1',
    port,
    messages,
    rejectRecipients(code) {
      rejectCode = code;
    },
    holdMessages(on) {
      holding = on;
      if (on) return;
      const waiting = held;
      held = [];
      for (const answer of waiting) answer();
    },
    get held() {
      return held.length;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
