/**
 * The parts of the Storage port that both SQL adapters keep in modules of their own (the outbox and email of issue
 * 17: outbox.ts and mail.ts in each; forwarding's channels of issue 18: channels.ts; companies of issue 19:
 * companies.ts and canned.ts; phone numbers of issue 20: phones.ts; SMS conversations: sms.ts; own domains of issue 21: domains.ts, and their certificates: certificates.ts; the audit log and sessions with recovery links of issue 22: audit.ts, sessions.ts), as the adapter exposes them: every method of the part, forwarded to the
 * companies.ts and canned.ts; phone numbers of issue 20: phones.ts; SMS conversations: sms.ts; own domains of issue 21: domains.ts, and their certificates: certificates.ts; the audit log and two-factor sign-in of issue 22: audit.ts, secondFactor.ts), as the adapter exposes them: every method of the part, forwarded to the
 * module's. Listed once for both adapters (a method added to the port fails to compile here until it is forwarded);
 * each adapter class declares the methods by merging the part's interface, and puts these on the instance.
 *
 * @example
 *   export interface SqliteStorage extends OutboxStorage {}
 *   Object.assign(this, outboxMethods(new SqliteOutbox(db)));
 */
import type { AccountDataStorage, AuditStorage, SessionRecoveryStorage, CannedStorage, CertificateStorage, ChannelStorage, CompanyStorage, DomainStorage, MailStorage, OutboxStorage, PhoneStorage, RoutingStorage, SecondFactorStorage, SmsStorage, VisitorBlockStorage } from '../../engine/ports/storage.ts';

export function outboxMethods(outbox: OutboxStorage): OutboxStorage {
  return {
    enqueueJob: (job) => outbox.enqueueJob(job),
    claimJobs: (input) => outbox.claimJobs(input),
    settleJob: (id, worker, outcome) => outbox.settleJob(id, worker, outcome),
    cancelJobs: (keys, at) => outbox.cancelJobs(keys, at),
    getJob: (id) => outbox.getJob(id),
    getJobByKey: (key) => outbox.getJobByKey(key),
    jobByRef: (ref) => outbox.jobByRef(ref),
    conversationJobs: (conversationId) => outbox.conversationJobs(conversationId),
    nextJobAt: () => outbox.nextJobAt(),
    failSentJob: (id, error, at) => outbox.failSentJob(id, error, at),
  };
}

export function mailMethods(mail: MailStorage): MailStorage {
  return {
    getAccountEmail: (accountId) => mail.getAccountEmail(accountId),
    setAccountEmail: (accountId, input) => mail.setAccountEmail(accountId, input),
    verifyAccountEmail: (verifyTokenHash, at) => mail.verifyAccountEmail(verifyTokenHash, at),
    createDeviceToken: (input) => mail.createDeviceToken(input),
    useDeviceToken: (tokenHash, at) => mail.useDeviceToken(tokenHash, at),
    listDeviceTokens: (accountId) => mail.listDeviceTokens(accountId),
    revokeDeviceToken: (accountId, id) => mail.revokeDeviceToken(accountId, id),
    recordMail: (stored) => mail.recordMail(stored),
    findMail: (accountId, messageIds) => mail.findMail(accountId, messageIds),
    getMail: (conversationId, seq) => mail.getMail(conversationId, seq),
    mailThread: (conversationId, limit) => mail.mailThread(conversationId, limit),
    conversationMailToken: (conversationId) => mail.conversationMailToken(conversationId),
    getConversationByMailToken: (token) => mail.getConversationByMailToken(token),
    setVisitorEmailOff: (conversationId, off) => mail.setVisitorEmailOff(conversationId, off),
    setSubject: (conversationId, subject) => mail.setSubject(conversationId, subject),
    getNotifyMark: (conversationId) => mail.getNotifyMark(conversationId),
    moveNotifyMark: (conversationId, from, to) => mail.moveNotifyMark(conversationId, from, to),
  };
}

export function channelMethods(channels: ChannelStorage): ChannelStorage {
  return {
    addChannel: (input) => channels.addChannel(input),
    listChannels: (accountId) => channels.listChannels(accountId),
    getChannel: (id) => channels.getChannel(id),
    channelsAt: (kind, address) => channels.channelsAt(kind, address),
    channelsOfKind: (kind) => channels.channelsOfKind(kind),
    removeChannel: (accountId, id) => channels.removeChannel(accountId, id),
    reorderChannels: (accountId, ids) => channels.reorderChannels(accountId, ids),
    setChannelDelay: (accountId, id, delayMs) => channels.setChannelDelay(accountId, id, delayMs),
    setChannelSecret: (id, secret) => channels.setChannelSecret(id, secret),
    setChannelCode: (id, code) => channels.setChannelCode(id, code),
    checkChannelCode: (accountId, id, codeHash, at, maxTries) => channels.checkChannelCode(accountId, id, codeHash, at, maxTries),
    getForwardingSettings: (accountId) => channels.getForwardingSettings(accountId),
    setForwardingSettings: (accountId, settings) => channels.setForwardingSettings(accountId, settings),
    openForward: (input) => channels.openForward(input),
    getForward: (id) => channels.getForward(id),
    getOpenForward: (conversationId) => channels.getOpenForward(conversationId),
    openForwards: (accountId) => channels.openForwards(accountId),
    lastForward: (conversationId) => channels.lastForward(conversationId),
    lastStepOn: (channelId, sentOnly) => channels.lastStepOn(channelId, sentOnly),
    markStepSent: (forwardId, channelId, sent) => channels.markStepSent(forwardId, channelId, sent),
    markStepDelivery: (kind, externalId, delivery) => channels.markStepDelivery(kind, externalId, delivery),
    closeForward: (conversationId, at) => channels.closeForward(conversationId, at),
    closeForwardsOf: (accountId, at) => channels.closeForwardsOf(accountId, at),
    serverValue: (name, value) => channels.serverValue(name, value),
  };
}

export function companyMethods(companies: CompanyStorage): CompanyStorage {
  return {
    makeCompany: (accountId, at) => companies.makeCompany(accountId, at),
    getCompany: (accountId) => companies.getCompany(accountId),
    addOperator: (input) => companies.addOperator(input),
    removeOperator: (companyId, accountId) => companies.removeOperator(companyId, accountId),
    listOperators: (companyId) => companies.listOperators(companyId),
    getOperator: (companyId, accountId) => companies.getOperator(companyId, accountId),
    companiesOf: (accountId) => companies.companiesOf(accountId),
    setOperatorStatus: (companyId, accountId, status) => companies.setOperatorStatus(companyId, accountId, status),
    setOperatorCapacity: (companyId, accountId, capacity) => companies.setOperatorCapacity(companyId, accountId, capacity),
    addSite: (companyId, origin, at) => companies.addSite(companyId, origin, at),
    removeSite: (companyId, origin) => companies.removeSite(companyId, origin),
    listSites: (companyId) => companies.listSites(companyId),
    createOperatorInvite: (input) => companies.createOperatorInvite(input),
    takeOperatorInvite: (tokenHash, accountId, capacity, at) => companies.takeOperatorInvite(tokenHash, accountId, capacity, at),
    recordPageView: (view) => companies.recordPageView(view),
    endPageView: (id, at) => companies.endPageView(id, at),
    visitorHistory: (companyId, visitorId) => companies.visitorHistory(companyId, visitorId),
    pageViewsOf: (companyId, visitorId, limit) => companies.pageViewsOf(companyId, visitorId, limit),
    purgePageViews: (before) => companies.purgePageViews(before),
  };
}

export function routingMethods(routing: RoutingStorage): RoutingStorage {
  return {
    queueChat: (conversationId, companyId, at) => routing.queueChat(conversationId, companyId, at),
    assignChat: (conversationId, operatorAccountId, at) => routing.assignChat(conversationId, operatorAccountId, at),
    endChat: (conversationId, at) => routing.endChat(conversationId, at),
    reopenChat: (conversationId, at) => routing.reopenChat(conversationId, at),
    getChatAssignment: (conversationId) => routing.getChatAssignment(conversationId),
    openChats: (companyId) => routing.openChats(companyId),
  };
}

export function cannedMethods(canned: CannedStorage): CannedStorage {
  return {
    setCannedResponse: (companyId, shortcut, text, at) => canned.setCannedResponse(companyId, shortcut, text, at),
    removeCannedResponse: (companyId, shortcut) => canned.removeCannedResponse(companyId, shortcut),
    listCannedResponses: (companyId) => canned.listCannedResponses(companyId),
  };
}

export function phoneMethods(phones: PhoneStorage): PhoneStorage {
  return {
    getPhoneNumber: (number) => phones.getPhoneNumber(number),
    phoneNumberOf: (accountId) => phones.phoneNumberOf(accountId),
    listPhoneNumbers: () => phones.listPhoneNumbers(),
    setPhoneClaim: (claim) => phones.setPhoneClaim(claim),
    getPhoneClaim: (accountId) => phones.getPhoneClaim(accountId),
    checkPhoneClaim: (accountId, codeHash, at, maxTries) => phones.checkPhoneClaim(accountId, codeHash, at, maxTries),
    assignPhoneNumber: (accountId, number, at) => phones.assignPhoneNumber(accountId, number, at),
    releasePhoneNumber: (accountId) => phones.releasePhoneNumber(accountId),
  };
}

export function smsMethods(sms: SmsStorage): SmsStorage {
  return {
    smsThread: (phone, accountId) => sms.smsThread(phone, accountId),
    smsThreadOf: (conversationId) => sms.smsThreadOf(conversationId),
    smsThreadsOfPhone: (phone) => sms.smsThreadsOfPhone(phone),
    createSmsThread: (thread) => sms.createSmsThread(thread),
    setSmsThreadVia: (conversationId, via) => sms.setSmsThreadVia(conversationId, via),
    countSmsThreadsSince: (accountId, since) => sms.countSmsThreadsSince(accountId, since),
    smsPhone: (phone) => sms.smsPhone(phone),
    setSmsCurrent: (phone, accountId, at) => sms.setSmsCurrent(phone, accountId, at),
    setSmsStopped: (phone, stoppedAt, at) => sms.setSmsStopped(phone, stoppedAt, at),
    markSmsTold: (phone, at, notAfter) => sms.markSmsTold(phone, at, notAfter),
  };
}

export function domainMethods(domains: DomainStorage): DomainStorage {
  return {
    addDomain: (input) => domains.addDomain(input),
    getDomain: (name) => domains.getDomain(name),
    domainsOf: (accountId) => domains.domainsOf(accountId),
    listDomains: () => domains.listDomains(),
    recordDomainCheck: (name, check) => domains.recordDomainCheck(name, check),
    removeDomain: (accountId, name) => domains.removeDomain(accountId, name),
    dkimKeyOf: (name) => domains.dkimKeyOf(name),
    putAcmeChallenge: (challenge) => domains.putAcmeChallenge(challenge),
    acmeChallenges: (kind, name, now, token) => domains.acmeChallenges(kind, name, now, token),
    removeAcmeChallenge: (kind, name, token) => domains.removeAcmeChallenge(kind, name, token),
  };
}

export function certificateMethods(certificates: CertificateStorage): CertificateStorage {
  return {
    dueCertificates: (now, limit) => certificates.dueCertificates(now, limit),
    claimCertificate: (name, worker, now, until) => certificates.claimCertificate(name, worker, now, until),
    storeCertificate: (name, worker, issued) => certificates.storeCertificate(name, worker, issued),
    recordCertificateFailure: (name, worker, failure) => certificates.recordCertificateFailure(name, worker, failure),
    getCertificate: (name) => certificates.getCertificate(name),
    listCertificates: () => certificates.listCertificates(),
  };
}

export function auditMethods(audit: AuditStorage): AuditStorage {
  return {
    appendAudit: (entry) => audit.appendAudit(entry),
    listAudit: (accountId, opts) => audit.listAudit(accountId, opts),
    purgeAudit: (before) => audit.purgeAudit(before),
  };
}

export function sessionRecoveryMethods(sessions: SessionRecoveryStorage): SessionRecoveryStorage {
  return {
    listSessions: (accountId, now) => sessions.listSessions(accountId, now),
    touchSession: (tokenHash, at) => sessions.touchSession(tokenHash, at),
    endSession: (accountId, id) => sessions.endSession(accountId, id),
    endSessions: (accountId, keepTokenHash) => sessions.endSessions(accountId, keepTokenHash),
    createPasswordReset: (reset) => sessions.createPasswordReset(reset),
    takePasswordReset: (tokenHash, now) => sessions.takePasswordReset(tokenHash, now),
    voidPasswordResets: (accountId) => sessions.voidPasswordResets(accountId),
    purgeExpiredPasswordResets: (now) => sessions.purgeExpiredPasswordResets(now),
    verifiedEmailAccounts: (address, limit) => sessions.verifiedEmailAccounts(address, limit),
  };
}

export function blockMethods(blocks: VisitorBlockStorage): VisitorBlockStorage {
  return {
    recordVisitorAddress: (conversationId, addressHash, at) => blocks.recordVisitorAddress(conversationId, addressHash, at),
    blockVisitor: (input) => blocks.blockVisitor(input),
    findVisitorBlock: (accountId, visitor, now) => blocks.findVisitorBlock(accountId, visitor, now),
    listVisitorBlocks: (accountId) => blocks.listVisitorBlocks(accountId),
    removeVisitorBlock: (accountId, id) => blocks.removeVisitorBlock(accountId, id),
  };
}

export function accountDataMethods(data: AccountDataStorage): AccountDataStorage {
  return {
    conversationIdsOf: (accountId) => data.conversationIdsOf(accountId),
    filesOf: (conversationId) => data.filesOf(conversationId),
    sessionHashesOf: (accountId) => data.sessionHashesOf(accountId),
    purgeAccount: (accountId) => data.purgeAccount(accountId),
  };
}

export function secondFactorMethods(f: SecondFactorStorage): SecondFactorStorage {
  return {
    putPendingTotp: (accountId, secret, at) => f.putPendingTotp(accountId, secret, at),
    getTotp: (accountId) => f.getTotp(accountId),
    acceptTotpStep: (accountId, step, opts) => f.acceptTotpStep(accountId, step, opts),
    removeTotp: (accountId) => f.removeTotp(accountId),
    setRecoveryCodes: (accountId, codeHashes, at) => f.setRecoveryCodes(accountId, codeHashes, at),
    useRecoveryCode: (accountId, codeHash) => f.useRecoveryCode(accountId, codeHash),
    countRecoveryCodes: (accountId) => f.countRecoveryCodes(accountId),
    addPasskey: (input) => f.addPasskey(input),
    listPasskeys: (accountId) => f.listPasskeys(accountId),
    getPasskeyByCredential: (credentialId) => f.getPasskeyByCredential(credentialId),
    usePasskey: (id, use) => f.usePasskey(id, use),
    renamePasskey: (accountId, id, name) => f.renamePasskey(accountId, id, name),
    removePasskey: (accountId, id) => f.removePasskey(accountId, id),
    removePasskeys: (accountId) => f.removePasskeys(accountId),
    putSecondFactorChallenge: (challenge, now) => f.putSecondFactorChallenge(challenge, now),
    getSecondFactorChallenge: (idHash, now) => f.getSecondFactorChallenge(idHash, now),
    countSecondFactorTry: (idHash, now) => f.countSecondFactorTry(idHash, now),
    takeSecondFactorChallenge: (idHash, now) => f.takeSecondFactorChallenge(idHash, now),
    recordSecondFactorFailure: (accountId, at, forgetBefore) => f.recordSecondFactorFailure(accountId, at, forgetBefore),
    secondFactorFailures: (accountId, since) => f.secondFactorFailures(accountId, since),
    clearSecondFactorFailures: (accountId) => f.clearSecondFactorFailures(accountId),
  };
}
