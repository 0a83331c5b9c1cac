/**
 * The fictional companies whose websites the company-sites stand-in serves (domains under the
 * reserved `.example` TLD, people invented). Each site has a home page with a meta description,
 * an about page and a team or contact page listing people with roles and e-mails, written so the
 * OpenAI stand-in's keyword rules classify them plausibly. Two odd ones on purpose: a parked
 * domain with nothing to enrich, and a company that moved its site (a redirect). A company in
 * the demo list but missing here (`atlas-legal`) answers 404: its site is gone.
 */

export interface TeamMember {
  name: string;
  role: string;
  email: string;
}

export interface CompanySite {
  slug: string;
  name: string;
  tagline: string;
  home: string[];
  about?: string[];
  /** Path segment of the people page: `team` or `contact`. */
  peoplePath?: 'team' | 'contact';
  team?: TeamMember[];
  phone?: string;
  address?: string;
}

export const COMPANY_SITES: CompanySite[] = [
  {
    slug: 'northwind-robotics',
    name: 'Northwind Robotics GmbH',
    tagline: 'Collaborative robots for manufacturing lines, built in Bremen.',
    home: [
      'Northwind Robotics designs collaborative robot arms for manufacturing. Our cells weld, palletise and inspect parts next to people, without cages.',
      'Manufacturing plants in automotive and electronics run more than 900 Northwind arms today.',
    ],
    about: [
      'Founded in 2014 by three engineers from the Bremen manufacturing cluster, Northwind builds every arm in its own plant.',
      'We sell to enterprise manufacturers and to the machine builders that supply them.',
    ],
    peoplePath: 'team',
    team: [
      { name: 'Anna Becker', role: 'Chief Executive Officer', email: 'anna.becker@northwind-robotics.example' },
      { name: 'Jonas Weber', role: 'Head of Sales', email: 'jonas.weber@northwind-robotics.example' },
      { name: 'Mia Schulz', role: 'Chief Technology Officer', email: 'mia.schulz@northwind-robotics.example' },
    ],
    phone: '+49 421 555 0101',
    address: 'Hafenstraße 12, 28217 Bremen, Germany',
  },
  {
    slug: 'bluepeak-analytics',
    name: 'Bluepeak Analytics Ltd',
    tagline: 'Analytics software that turns warehouse data into weekly decisions.',
    home: [
      'Bluepeak Analytics makes forecasting software for enterprise planning teams. Connect your data warehouse and get a forecast your team can read.',
      'Our software runs in your cloud account; nothing leaves it.',
    ],
    about: [
      'Bluepeak started as a consultancy in Leeds and became a software company in 2019.',
      'Today 140 enterprise customers plan with Bluepeak software every week.',
    ],
    peoplePath: 'team',
    team: [
      { name: 'Oliver Grant', role: 'Co-founder & CEO', email: 'oliver@bluepeak-analytics.example' },
      { name: 'Priya Nair', role: 'VP Engineering', email: 'priya.nair@bluepeak-analytics.example' },
    ],
    phone: '+44 113 496 0102',
  },
  {
    slug: 'harbor-freight-lines',
    name: 'Harbor Freight Lines B.V.',
    tagline: 'Container logistics between Rotterdam and the Rhine.',
    home: [
      'Harbor Freight Lines moves containers by barge and truck from the port of Rotterdam to inland terminals. Logistics for importers who need a slot this week, not next month.',
      'We run 40 barges and our own logistics software for track and trace.',
    ],
    about: [
      'A family business since 1978, now in its third generation, serving importers of every size from our logistics hub in Rotterdam.',
    ],
    peoplePath: 'contact',
    team: [
      { name: 'Daan de Vries', role: 'Managing Director', email: 'daan@harbor-freight-lines.example' },
      { name: 'Sanne Jansen', role: 'Logistics Planner', email: 'planning@harbor-freight-lines.example' },
    ],
    phone: '+31 10 555 0103',
  },
  {
    slug: 'greenleaf-grocers',
    name: 'Greenleaf Grocers',
    tagline: 'Organic groceries delivered in Dublin the same day.',
    home: [
      'Greenleaf Grocers is an online grocery shop for consumers in Dublin. Order organic fruit, vegetables and dairy before noon and we deliver the same evening.',
      'Our retail prices match the supermarket for 300 everyday products.',
    ],
    about: [
      'Greenleaf began as a market stall in 2016 and opened its online retail shop in 2020. We buy from 60 Irish farms.',
    ],
    peoplePath: 'team',
    team: [
      { name: 'Aoife Byrne', role: 'Founder', email: 'aoife@greenleaf-grocers.example' },
      { name: 'Ciarán Walsh', role: 'Operations Manager', email: 'ciaran.walsh@greenleaf-grocers.example' },
    ],
  },
  {
    slug: 'lumen-health',
    name: 'Lumen Health Inc.',
    tagline: 'Primary care clinics with same-day appointments.',
    home: [
      'Lumen Health runs 12 primary care clinics in Oregon. Patients book same-day appointments online and see their healthcare team in person or by video.',
      'Our healthcare plans cover families and individual consumers.',
    ],
    about: [
      'Lumen Health was founded by two family doctors in Portland in 2017. Every clinic has a doctor, a nurse practitioner and a pharmacist.',
    ],
    peoplePath: 'team',
    team: [
      { name: 'Dr. Rachel Kim', role: 'Chief Medical Officer', email: 'rachel.kim@lumen-health.example' },
      { name: 'Marcus Hill', role: 'Director of Partnerships', email: 'marcus.hill@lumen-health.example' },
      { name: 'Elena Ortiz', role: 'Head of Patient Experience', email: 'elena.ortiz@lumen-health.example' },
    ],
    phone: '+1 503 555 0105',
  },
  {
    slug: 'fintrail-payments',
    name: 'Fintrail Payments AB',
    tagline: 'Card and invoice payments for SMB merchants in the Nordics.',
    home: [
      'Fintrail Payments lets SMB merchants take card, invoice and instalment payments with one contract. Finance teams reconcile every payout in one report.',
      'Licensed by the Swedish finance authority.',
    ],
    about: [
      'Fintrail was founded in Stockholm in 2018 and processes payments for 8,000 SMB merchants in Sweden, Norway and Denmark.',
    ],
    peoplePath: 'team',
    team: [
      { name: 'Erik Lindqvist', role: 'CEO', email: 'erik.lindqvist@fintrail-payments.example' },
      { name: 'Sara Holm', role: 'Head of Merchant Sales', email: 'sara.holm@fintrail-payments.example' },
    ],
    phone: '+46 8 555 0106',
  },
  {
    slug: 'brightpath-academy',
    name: 'Brightpath Academy',
    tagline: 'Online maths and science courses for secondary schools.',
    home: [
      'Brightpath Academy publishes online maths and science courses for secondary education. School districts and public sector education boards license the courses for whole regions.',
      'Teachers get lesson plans; students get practice that adapts to them.',
    ],
    about: [
      'Brightpath was started by former teachers in Toronto in 2015. Our courses follow the Ontario and British Columbia curricula.',
    ],
    peoplePath: 'contact',
    team: [
      { name: 'Nathalie Tremblay', role: 'Executive Director', email: 'nathalie@brightpath-academy.example' },
      { name: 'Samuel Osei', role: 'Public Sector Partnerships', email: 'samuel.osei@brightpath-academy.example' },
    ],
  },
  {
    slug: 'solstice-energy',
    name: 'Solstice Energy S.L.',
    tagline: 'Rooftop solar and batteries for homes and small businesses in Valencia.',
    home: [
      'Solstice Energy installs rooftop solar panels and home batteries in the Valencia region. Consumers cut their energy bill by half; we handle the permits and the grid connection.',
      'Clean energy, installed in two days.',
    ],
    about: [
      'Solstice Energy has installed 4,200 rooftop systems since 2012. Our installers are employees, not subcontractors.',
    ],
    peoplePath: 'team',
    team: [
      { name: 'Lucía Fernández', role: 'General Manager', email: 'lucia.fernandez@solstice-energy.example' },
      { name: 'Pablo Ruiz', role: 'Installation Lead', email: 'pablo.ruiz@solstice-energy.example' },
    ],
    phone: '+34 96 555 0108',
  },
  {
    slug: 'copperpot-kitchens',
    name: 'Copperpot Kitchens & Co',
    tagline: 'Three bistros and a catering kitchen in Lyon.',
    home: [
      'Copperpot Kitchens & Co runs three bistros and a catering kitchen in Lyon. Hospitality the Lyon way: seasonal menus, long lunches, private dining for up to 80 guests.',
      'Book a table or ask for a catering quote.',
    ],
    about: [
      'Chef Camille Martin opened the first Copperpot bistro in 2011. The group now employs 65 people in hospitality and catering.',
    ],
    peoplePath: 'contact',
    team: [
      { name: 'Camille Martin', role: 'Chef & Owner', email: 'camille@copperpot-kitchens.example' },
      { name: 'Hugo Lefèvre', role: 'Events & Catering Manager', email: 'events@copperpot-kitchens.example' },
    ],
  },
  {
    slug: 'nimbus-cloudworks',
    name: 'Nimbus Cloudworks',
    tagline: 'Managed hosting and backup software for agencies and SMB teams.',
    home: [
      'Nimbus Cloudworks (formerly Nimbus Cloud) offers managed hosting and backup software for agencies and SMB teams. We patch, monitor and restore so you do not have to.',
      'Our software backs up 30,000 sites every night.',
    ],
    about: [
      'Nimbus Cloud became Nimbus Cloudworks in 2023 when we added backup software to hosting; our old address still redirects here.',
    ],
    peoplePath: 'team',
    team: [
      { name: 'Grace Liu', role: 'Founder & CEO', email: 'grace@nimbus-cloudworks.example' },
      { name: 'Tom Becker', role: 'Head of Support', email: 'support-lead@nimbus-cloudworks.example' },
    ],
  },
  {
    slug: 'quiet-harbour-holdings',
    name: 'Quiet Harbour Holdings',
    tagline: 'This domain is parked.',
    home: [
      'This domain is parked. Whatever was published here before is irrelevant now. The domain may be for sale; offers via the registrar.',
    ],
  },
];

/** Old addresses that moved (301) to a new slug. */
export const SITE_REDIRECTS: Record<string, string> = { 'nimbus-cloud': 'nimbus-cloudworks' };
