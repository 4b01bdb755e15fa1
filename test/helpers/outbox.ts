import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';

export interface Mail {
  file: string;
  to: string;
  subject: string;
  text: string;
  html: string;
  /** The links in the text part. */
  links: string[];
}

/** Every mail the server wrote to DATA_DIR/outbox (no SMTP_URL), oldest first. */
export async function readOutbox(dataDir: string): Promise<Mail[]> {
  let files: string[];
  try {
    files = readdirSync(join(dataDir, 'outbox')).filter((f) => f.endsWith('.eml')).sort();
  } catch {
    return [];
  }
  return Promise.all(files.map(async (file) => {
    const parsed = await simpleParser(readFileSync(join(dataDir, 'outbox', file)));
    const to = Array.isArray(parsed.to) ? parsed.to[0]?.text ?? '' : parsed.to?.text ?? '';
    const text = parsed.text ?? '';
    return { file, to, subject: parsed.subject ?? '', text, html: typeof parsed.html === 'string' ? parsed.html : '',
      links: text.match(/https?:\/\/\S+/g) ?? [] };
  }));
}

/** The newest mail to `to` whose subject matches, waiting briefly for it to be written. */
export async function lastMailTo(dataDir: string, to: string, subject?: RegExp): Promise<Mail> {
  for (let tries = 0; tries < 50; tries += 1) {
    const mails = (await readOutbox(dataDir)).filter((m) => m.to === to && (!subject || subject.test(m.subject)));
    if (mails.length) return mails[mails.length - 1]!;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no mail to ${to}${subject ? ` matching ${subject}` : ''}`);
}
