/**
 * Twenty-five fictional recipients for demos and tests of the dm-creative pipeline: a spring
 * campaign of a home-services company. Names and streets are invented, phone numbers are in the
 * 555-01xx range reserved for fiction, tracking ids follow the campaign's `SPR25-` scheme.
 */
import type { RecipientItemInput } from './item';

const r = (trackingId: string, name: string, lastname: string, address: string, city: string, zip: string, message: string, phoneNumber = '+1 (503) 555-0142'): RecipientItemInput => ({
  trackingId,
  name,
  lastname,
  address,
  city,
  zip,
  message,
  phoneNumber,
});

export const demoRecipients: RecipientItemInput[] = [
  r('SPR25-0001', 'Olivia', 'Bennett', '1432 SE Alder Street', 'Portland, OR', '97214', 'Spring is the best time to check your roof after the winter rains. Book a free inspection before April 30 and get 15% off any repair.'),
  r('SPR25-0002', 'Marcus', 'Delgado', '88 Willow Creek Road', 'Beaverton, OR', '97005', 'Your gutters worked hard this winter. Let our crew clear them out: one visit, no mess, and a photo report of what we found.'),
  r('SPR25-0003', 'Priya', 'Raman', '2719 NE Fremont Street', 'Portland, OR', '97212', 'Thinking about solar? We will measure your roof and show you the numbers for your home, free and with no obligation.'),
  r('SPR25-0004', 'Thomas', 'O\'Connell', '501 Maple Avenue', 'Lake Oswego, OR', '97034', 'It has been two years since we replaced your water heater. A yearly flush keeps it efficient: this month it is on us.', '+1 (503) 555-0177'),
  r('SPR25-0005', 'Hannah', 'Schmidt', '14 Orchard Lane', 'Tigard, OR', '97223', 'Allergy season is here. A new HVAC filter and a duct check make a real difference; book before May and save $40.'),
  r('SPR25-0006', 'Daniel', 'Kim', '3350 N Williams Avenue, Apt 4B', 'Portland, OR', '97227', 'Renting and tired of drafty windows? We work with landlords too. Call us and we will sort out the paperwork.'),
  r('SPR25-0007', 'Sofia', 'Martínez', '920 Cedar Hills Boulevard', 'Beaverton, OR', '97005', 'Gracias for being our customer for five years! Here is a loyalty voucher worth $75 on your next service visit.'),
  r('SPR25-0008', 'James', 'Whitaker', '77 Riverside Drive', 'Milwaukie, OR', '97222', 'Your deck has seen a lot of barbecues. Our spring sealing package protects the wood for another three summers.'),
  r('SPR25-0009', 'Aisha', 'Okafor', '4105 SW Corbett Avenue', 'Portland, OR', '97239', 'New to the neighbourhood? Welcome! Get a free home safety check: smoke detectors, CO alarms and the electrical panel.'),
  r('SPR25-0010', 'Lukas', 'Novak', '256 Elm Street', 'Gresham, OR', '97030', 'Heavy rain means a busy sump pump. We will test yours and fit a battery backup at cost during March.', '+1 (503) 555-0199'),
  r('SPR25-0011', 'Emily', 'Chen', '1880 NW Lovejoy Street', 'Portland, OR', '97209', 'Planning a kitchen update this year? Visit our showroom and bring this letter for a free design consultation.'),
  r('SPR25-0012', 'Robert', 'Johnson', '6612 SE Foster Road', 'Portland, OR', '97206', 'Your furnace is 14 years old. Ask us about the spring trade-in offer and the federal energy tax credit.'),
  r('SPR25-0013', 'Grace', 'Adeyemi', '39 Birchwood Court', 'Hillsboro, OR', '97124', 'We noticed moss on many roofs in your street. Our gentle treatment keeps shingles intact: book with your neighbours and save.'),
  r('SPR25-0014', 'Mateo', 'Rossi', '1207 Oak Grove Boulevard', 'Oak Grove, OR', '97267', 'Thank you for the kind review last autumn! Your referral code inside gives a friend 10% off, and you $50.'),
  r('SPR25-0015', 'Chloe', 'Dubois', '455 Pine Ridge Drive', 'West Linn, OR', '97068', 'Spring cleaning, the professional way: windows, gutters and siding in one visit. Scan the code to pick a date.'),
  r('SPR25-0016', 'Nathan', 'Brooks', '2984 SE Hawthorne Boulevard', 'Portland, OR', '97214', 'Your smart thermostat can save more. Our technician will tune the schedule to your routine at no charge.'),
  r('SPR25-0017', 'Yuki', 'Tanaka', '610 Laurelhurst Place', 'Portland, OR', '97232', 'Our plumbers are in your area every Tuesday this spring. Book a slot and skip the call-out fee.', '+1 (503) 555-0163'),
  r('SPR25-0018', 'Samuel', 'Greene', '18 Fern Hollow Road', 'Happy Valley, OR', '97086', 'Basement feeling damp? A free moisture reading tells you whether you need a dehumidifier or just better ventilation.'),
  r('SPR25-0019', 'Isabella', 'Novaković', '3021 NE Broadway', 'Portland, OR', '97232', 'Your annual maintenance plan renews next month. Renew early and we add a second filter change for free.'),
  r('SPR25-0020', 'Omar', 'Haddad', '742 Evergreen Terrace', 'Tualatin, OR', '97062', 'Storm season left its mark on many fences. We repair and stain, and we haul away the old boards.'),
  r('SPR25-0021', 'Laura', 'Fitzgerald', '1555 Sunset Highway', 'Cedar Mill, OR', '97229', 'Ready for summer? Get your AC serviced before the first heatwave, and before the waiting lists get long.'),
  r('SPR25-0022', 'Kwame', 'Mensah', '89 Holly Street', 'Oregon City, OR', '97045', 'We are hiring apprentices from your neighbourhood! Know someone handy? Scan the code for details.'),
  r('SPR25-0023', 'Elena', 'Popescu', '2300 SW Vista Avenue', 'Portland, OR', '97201', 'Your home was built in 1962. Older wiring deserves a look: our licensed electricians do a full check in one hour.'),
  r('SPR25-0024', 'Benjamin', 'Levi', '404 Aspen Way', 'Sherwood, OR', '97140', 'Water bill creeping up? A leak test takes twenty minutes and might save you hundreds a year.', '+1 (503) 555-0188'),
  r('SPR25-0025', 'Mia', 'Johansson', '1290 NE Alberta Street', 'Portland, OR', '97211', 'Thank you for choosing us this year. Here is to a bright, dry and comfortable spring in your home!'),
];
