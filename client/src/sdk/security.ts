/**
 * Account safety's calls (issue 22): Settings → Password, Sessions and Audit log, and password recovery at /_/reset.
 * Through `api.request`, so that they load with the parts of the page that use them (views/companyViews.ts), not with
 * every page.
 */
import {
  auditAnswer,
  resetPasswordAnswer,
  sessionsAnswer,
  sessionsEndedAnswer,
  type AuditAnswer,
  type ResetPasswordAnswer,
  type SessionsAnswer,
} from '../../../engine/protocol.ts';
import { api } from './api.ts';

export const security = {
  sessions(): Promise<SessionsAnswer> {
    return api.request('GET', '/_/api/security/sessions', undefined, sessionsAnswer);
  },
  /** Ends one of the account's sessions; answers with those left. */
  endSession(id: string): Promise<SessionsAnswer> {
    return api.request('DELETE', `/_/api/security/sessions/${encodeURIComponent(id)}`, undefined, sessionsAnswer);
  },
  /** Ends every session, this browser's too. */
  async logoutEverywhere(): Promise<number> {
    return (await api.request('POST', '/_/api/security/logout-everywhere', {}, sessionsEndedAnswer)).ended;
  },
  /** Changes the password; resolves with how many other sessions were ended. */
  async changePassword(currentPassword: string, newPassword: string): Promise<number> {
    return (await api.request('POST', '/_/api/security/password', { currentPassword, newPassword }, sessionsEndedAnswer)).ended;
  },
  /** A page of the audit log, newest first; `before` is the previous page's `next`. */
  audit(before?: number): Promise<AuditAnswer> {
    return api.request('GET', `/_/api/security/audit${before === undefined ? '' : `?before=${before}`}`, undefined, auditAnswer);
  },
  /** Asks for a recovery link; the server answers the same whether or not the account exists. */
  async recover(handleOrEmail: string): Promise<void> {
    await api.request('POST', '/_/api/password/recover', { handleOrEmail }, null);
  },
  reset(token: string, newPassword: string): Promise<ResetPasswordAnswer> {
    return api.request('POST', '/_/api/password/reset', { token, newPassword }, resetPasswordAnswer);
  },
};
