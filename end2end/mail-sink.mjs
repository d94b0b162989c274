// Mail sink for the end-to-end tests.
//
// SMTP on 127.0.0.1:2525 accepts every message (authentication optional, no TLS)
// and keeps it in memory. A small HTTP API on 127.0.0.1:2526 lets the tests
// read what the portal sent:
//
//   GET    /health               -> 200 "ok"
//   GET    /messages[?to=addr]   -> [{ to, from, subject, text, date }], newest last
//   DELETE /messages             -> clears every stored message
//
// Ports can be changed with MAIL_SINK_SMTP_PORT and MAIL_SINK_HTTP_PORT.

import http from 'node:http';
import { SMTPServer } from 'smtp-server';
import { simpleParser } from 'mailparser';

const HOST = '127.0.0.1';
const SMTP_PORT = Number(process.env.MAIL_SINK_SMTP_PORT || 2525);
const HTTP_PORT = Number(process.env.MAIL_SINK_HTTP_PORT || 2526);
const MAX_MESSAGE_BYTES = 5 * 1024 * 1024;
const MAX_MESSAGES = 1000;

/** @type {{to: string[], from: string, subject: string, text: string, date: string, attachments: {filename: string, contentType: string, size: number, head: string}[]}[]} */
let messages = [];

function log(...args) {
  console.log(...args);
}

function addressesOf(field) {
  if (!field) return [];
  const list = Array.isArray(field) ? field : [field];
  const out = [];
  for (const entry of list) {
    for (const v of entry.value || []) {
      if (v.address) out.push(v.address.toLowerCase());
      for (const g of v.group || []) {
        if (g.address) out.push(g.address.toLowerCase());
      }
    }
  }
  return out;
}

const smtp = new SMTPServer({
  name: 'mail-sink.test',
  authOptional: true,
  disabledCommands: ['STARTTLS'],
  secure: false,
  // Any credentials are accepted, in case the portal is set up to log in.
  allowInsecureAuth: true,
  onAuth(auth, _session, callback) {
    callback(null, { user: auth.username || 'anonymous' });
  },
  logger: false,
  size: MAX_MESSAGE_BYTES,
  onData(stream, session, callback) {
    simpleParser(stream)
      .then((mail) => {
        const envelopeTo = session.envelope.rcptTo.map((r) => r.address.toLowerCase());
        const headerTo = [...addressesOf(mail.to), ...addressesOf(mail.cc)];
        const to = [...new Set([...envelopeTo, ...headerTo])];
        const from =
          addressesOf(mail.from)[0] ||
          (session.envelope.mailFrom && session.envelope.mailFrom.address) ||
          '';
        const message = {
          to,
          from,
          subject: mail.subject || '',
          text: mail.text || '',
          date: (mail.date || new Date()).toISOString(),
          // Attachments as name, type, size and the first bytes (base64), enough to check
          // what was sent without keeping whole files.
          attachments: (mail.attachments || []).map((a) => ({
            filename: a.filename || '',
            contentType: a.contentType || '',
            size: a.size || (a.content ? a.content.length : 0),
            head: a.content ? a.content.subarray(0, 16).toString('base64') : '',
          })),
        };
        messages.push(message);
        if (messages.length > MAX_MESSAGES) messages = messages.slice(-MAX_MESSAGES);
        log(`stored message to ${to.join(', ')}: ${message.subject}`);
        callback();
      })
      .catch((err) => {
        log('could not parse a message:', err.message);
        callback(err);
      });
  },
});

smtp.on('error', (err) => log('smtp error:', err.message));

function send(res, status, body) {
  const isText = typeof body === 'string';
  const payload = isText ? body : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': isText ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8',
    'cache-control': 'no-store',
  });
  res.end(payload);
}

const api = http.createServer((req, res) => {
  const url = new URL(req.url || '/', `http://${HOST}:${HTTP_PORT}`);
  if (url.pathname === '/health' && (req.method === 'GET' || req.method === 'HEAD')) {
    return send(res, 200, 'ok');
  }
  if (url.pathname === '/messages') {
    if (req.method === 'GET') {
      const to = url.searchParams.get('to');
      const wanted = to ? to.trim().toLowerCase() : null;
      const list = wanted ? messages.filter((m) => m.to.includes(wanted)) : messages;
      return send(
        res,
        200,
        list.map((m) => ({
          to: m.to.join(', '),
          from: m.from,
          subject: m.subject,
          text: m.text,
          date: m.date,
          attachments: m.attachments,
        })),
      );
    }
    if (req.method === 'DELETE') {
      const count = messages.length;
      messages = [];
      return send(res, 200, { deleted: count });
    }
    return send(res, 405, 'method not allowed');
  }
  return send(res, 404, 'not found');
});

smtp.listen(SMTP_PORT, HOST, () => log(`SMTP listening on ${HOST}:${SMTP_PORT}`));
api.listen(HTTP_PORT, HOST, () => log(`HTTP API listening on http://${HOST}:${HTTP_PORT}`));

function shutdown() {
  api.close();
  smtp.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
