/**
 * The views only companies' operators see (issue 19): the live "Visitors" list and the "Queue" with a chat's routing
 * controls (VisitorsPanel.tsx, QueuePanel.tsx), Settings → Company, the page of an
 * invitation to a team. One chunk of their own, fetched the first time a company's console or a join link opens
 * (LazyCompanyView.tsx), so a visitor's page and a person's console do not load them (test/unit/bundle.test.ts).
 */
export { VisitorsPanel } from './VisitorsPanel.tsx';
export { CompanySection } from './CompanySection.tsx';
export { JoinPage } from './JoinPage.tsx';
