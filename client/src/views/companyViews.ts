/**
 * The views the page loads on demand, in one chunk of their own (LazyCompanyView.tsx), so that what every page loads
 * stays small (test/unit/bundle.test.ts): what only companies' operators see (issue 19: the live "Visitors" list with
 * the "Queue" and a chat's routing controls, Settings → Company, the page of an invitation to a team, the canned
 * responses their composer expands), the owner's Settings (opened now and then, and never on a visitor's page), and
 * the visitor's "Email transcript" form (fetched only when a visitor asks for it), password recovery's page (issue 22,
 * /_/reset), a conversation's Block (the owner's only) and two-factor sign-in (the login's second step, a sign-in with
 * a passkey; Settings → Two-factor sign-in comes with the SettingsView).
 */
export { VisitorsPanel } from './VisitorsPanel.tsx';
export { CompanySection } from './CompanySection.tsx';
export { JoinPage } from './JoinPage.tsx';
export { TranscriptForm } from './TranscriptForm.tsx';
export { loadCannedExpander } from '../sdk/canned.ts';
export { SettingsView } from './SettingsView.tsx';
export { ResetPage } from './ResetPage.tsx';
export { BlockVisitor } from './BlockVisitor.tsx';
export { SecondFactorStep } from './SecondFactorStep.tsx';
export { signInWithPasskey } from '../sdk/secondFactor.ts';
