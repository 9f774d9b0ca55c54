/** A scripted stand-in for the connection layer: records each request and answers from a script, no sockets. */
import { Readable } from 'node:stream';
import type { HTTPMethod, RawSend, RegistryResponse } from '../../src/registry-client/connection.js';

export interface SentRequest {
  method: HTTPMethod;
  url: string;
  headers: Record<string, string>;
}

export interface ScriptedAnswer {
  status: number;
  headers?: Record<string, string | undefined>;
  body?: string;
}

/** Answers each request with `answer(request)`; a thrown error stands for a network failure. */
export function fakeSend(answer: (req: SentRequest) => ScriptedAnswer | Promise<ScriptedAnswer>): {
  send: RawSend;
  sent: SentRequest[];
} {
  const sent: SentRequest[] = [];
  const send: RawSend = async (method, url, headers) => {
    const req = { method, url: url.toString(), headers: { ...headers } };
    sent.push(req);
    const a = await answer(req);
    return response(a, url);
  };
  return { send, sent };
}

function response(a: ScriptedAnswer, url: URL): RegistryResponse {
  const body = Readable.from([Buffer.from(a.body ?? '')]) as RegistryResponse['body'];
  body.dump = async () => {
    body.resume();
  };
  const headers: Record<string, string> = { 'content-length': String(Buffer.byteLength(a.body ?? '')) };
  for (const [k, v] of Object.entries(a.headers ?? {})) if (v !== undefined) headers[k] = v;
  return { status: a.status, headers, body, url };
}
