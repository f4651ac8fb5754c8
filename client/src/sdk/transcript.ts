/**
 * Asks for the conversation's transcript by email (issue 19, POST /_/api/conversations/<id>/transcript) as its
 * visitor: by the conversation's token as a bearer token, which works where a widget's frame gets no cookies.
 */
import { transcriptAnswer, type TranscriptAnswer } from '../../../engine/protocol.ts';
import { api } from './api.ts';

export function emailTranscript(conversationId: string, token: string, email: string): Promise<TranscriptAnswer> {
  return api.request('POST', `/_/api/conversations/${encodeURIComponent(conversationId)}/transcript`, { email }, transcriptAnswer, {
    authorization: `Bearer ${token}`,
  });
}
