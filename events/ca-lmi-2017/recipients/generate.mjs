#!/usr/bin/env node
/**
 * Writes the fictional recipient lists of the bundled example event:
 *   superintendents.csv  all 58 California county superintendents plus district superintendents
 *   team-members.csv     each district's labor-management team (the superintendent included)
 *   registrations.csv    the teams that registered, with the local time they did
 *
 * Every person is invented and every address is under a reserved domain (`*.test`,
 * RFC 2606), so a misconfigured demo can never mail a real school. The output is
 * deterministic: names come from a seeded generator, so re-running this script reproduces
 * the committed CSVs byte for byte.
 *
 *   node events/ca-lmi-2017/recipients/generate.mjs
 */
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const OUT = dirname(fileURLToPath(import.meta.url));

/** mulberry32: a tiny seeded PRNG, so the output never changes between runs. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = rng(20170515);
const pick = (list) => list[Math.floor(random() * list.length)];

const COUNTIES = [
  "Alameda", "Alpine", "Amador", "Butte", "Calaveras", "Colusa", "Contra Costa", "Del Norte",
  "El Dorado", "Fresno", "Glenn", "Humboldt", "Imperial", "Inyo", "Kern", "Kings", "Lake",
  "Lassen", "Los Angeles", "Madera", "Marin", "Mariposa", "Mendocino", "Merced", "Modoc", "Mono",
  "Monterey", "Napa", "Nevada", "Orange", "Placer", "Plumas", "Riverside", "Sacramento",
  "San Benito", "San Bernardino", "San Diego", "San Francisco", "San Joaquin", "San Luis Obispo",
  "San Mateo", "Santa Barbara", "Santa Clara", "Santa Cruz", "Shasta", "Sierra", "Siskiyou",
  "Solano", "Sonoma", "Stanislaus", "Sutter", "Tehama", "Trinity", "Tulare", "Tuolumne", "Ventura",
  "Yolo", "Yuba",
];
if (COUNTIES.length !== 58) throw new Error(`expected 58 counties, got ${COUNTIES.length}`);

/** [team id, district name]; the team id is what registrations refer to. */
const DISTRICTS = [
  ["fremont-usd", "Fremont Unified School District"],
  ["oakland-usd", "Oakland Unified School District"],
  ["hayward-usd", "Hayward Unified School District"],
  ["san-leandro-usd", "San Leandro Unified School District"],
  ["milpitas-usd", "Milpitas Unified School District"],
  ["san-jose-usd", "San Jose Unified School District"],
  ["palo-alto-usd", "Palo Alto Unified School District"],
  ["west-contra-costa-usd", "West Contra Costa Unified School District"],
  ["mt-diablo-usd", "Mt. Diablo Unified School District"],
  ["san-francisco-usd", "San Francisco Unified School District"],
  ["san-mateo-foster-city-sd", "San Mateo-Foster City School District"],
  ["napa-valley-usd", "Napa Valley Unified School District"],
  ["santa-rosa-city-schools", "Santa Rosa City Schools"],
  ["los-angeles-usd", "Los Angeles Unified School District"],
  ["long-beach-usd", "Long Beach Unified School District"],
  ["abc-usd", "ABC Unified School District"],
  ["pasadena-usd", "Pasadena Unified School District"],
  ["glendale-usd", "Glendale Unified School District"],
  ["montebello-usd", "Montebello Unified School District"],
  ["santa-monica-malibu-usd", "Santa Monica-Malibu Unified School District"],
  ["corona-norco-usd", "Corona-Norco Unified School District"],
  ["riverside-usd", "Riverside Unified School District"],
  ["moreno-valley-usd", "Moreno Valley Unified School District"],
  ["palm-springs-usd", "Palm Springs Unified School District"],
  ["san-bernardino-city-usd", "San Bernardino City Unified School District"],
  ["fontana-usd", "Fontana Unified School District"],
  ["redlands-usd", "Redlands Unified School District"],
  ["san-diego-usd", "San Diego Unified School District"],
  ["chula-vista-esd", "Chula Vista Elementary School District"],
  ["sweetwater-uhsd", "Sweetwater Union High School District"],
  ["poway-usd", "Poway Unified School District"],
  ["vista-usd", "Vista Unified School District"],
  ["sacramento-city-usd", "Sacramento City Unified School District"],
  ["elk-grove-usd", "Elk Grove Unified School District"],
  ["twin-rivers-usd", "Twin Rivers Unified School District"],
  ["davis-jusd", "Davis Joint Unified School District"],
  ["fresno-usd", "Fresno Unified School District"],
  ["clovis-usd", "Clovis Unified School District"],
  ["bakersfield-city-sd", "Bakersfield City School District"],
  ["salinas-uhsd", "Salinas Union High School District"],
  ["santa-barbara-usd", "Santa Barbara Unified School District"],
  ["ventura-usd", "Ventura Unified School District"],
  ["anaheim-uhsd", "Anaheim Union High School District"],
  ["garden-grove-usd", "Garden Grove Unified School District"],
  ["stockton-usd", "Stockton Unified School District"],
  ["modesto-city-schools", "Modesto City Schools"],
];

const FIRST = [
  "Adriana", "Alan", "Alicia", "Amir", "Ana", "Andre", "Angela", "Arturo", "Beatriz", "Bernard",
  "Brenda", "Carlos", "Carmen", "Cheryl", "Daniel", "Darnell", "Deborah", "Denise", "Diana",
  "Dolores", "Duc", "Eduardo", "Elaine", "Elena", "Eric", "Esther", "Farah", "Felipe", "Gloria",
  "Grace", "Gregory", "Hector", "Helen", "Imani", "Irene", "Jamal", "Janet", "Javier", "Joan",
  "Jorge", "Julia", "Karen", "Keith", "Kenji", "Kimberly", "Lamar", "Laura", "Leticia", "Linda",
  "Luis", "Marcus", "Margaret", "Maria", "Marisol", "Martin", "Maya", "Michelle", "Monica",
  "Nadia", "Nathan", "Noel", "Olivia", "Omar", "Patricia", "Paul", "Priya", "Rafael", "Raymond",
  "Renee", "Ricardo", "Rosa", "Ruth", "Samuel", "Sandra", "Sean", "Sharon", "Sofia", "Stephen",
  "Tamara", "Teresa", "Thomas", "Tran", "Valerie", "Victor", "Vivian", "Walter", "Wendy", "Yolanda",
];
const LAST = [
  "Abernathy", "Acosta", "Alvarado", "Banerjee", "Bautista", "Bellamy", "Calderón", "Castellanos",
  "Chen", "Coleman", "Delgado", "Dunleavy", "Ellison", "Espinoza", "Fairbanks", "Ferreira",
  "Fitzgerald", "Gallagher", "Goldberg", "Guerrero", "Halvorsen", "Hashimoto", "Ibarra",
  "Jefferson", "Kaplan", "Kowalski", "Lindqvist", "Lozano", "Maldonado", "Marchetti", "McAllister",
  "Mendoza", "Nakamura", "Navarro", "Nguyen", "Okafor", "Olmstead", "Ortega", "Pacheco",
  "Petrosyan", "Quintero", "Ramanathan", "Redfield", "Rosales", "Saldaña", "Santangelo", "Sato",
  "Serrano", "Sorensen", "Takahashi", "Thibodeaux", "Trujillo", "Underwood", "Valenzuela",
  "Vasquez", "Whitaker", "Yamamoto", "Zamora",
];

/** Lowercase ASCII for e-mail local parts: "Saldaña" → "saldana", "O'Brien" → "obrien". */
const ascii = (s) =>
  s
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "");

const usedNames = new Set();
/** A fresh fictional name; `fixed` forces one (for the non-ASCII and apostrophe cases). */
function person(fixed) {
  if (fixed) {
    usedNames.add(fixed.join(" "));
    return { first: fixed[0], last: fixed[1] };
  }
  for (;;) {
    const first = pick(FIRST);
    const last = pick(LAST);
    if (!usedNames.has(`${first} ${last}`)) {
      usedNames.add(`${first} ${last}`);
      return { first, last };
    }
  }
}
const fullName = (p) => `${p.first} ${p.last}`;
const mailbox = (p, domain) => `${ascii(p.first)}.${ascii(p.last)}@${domain}`;
const countySlug = (c) => c.toLowerCase().replace(/\s+/g, "-");
/** Roughly two in five are greeted as Dr., the rest by their office. */
const salutation = (p, office) => (random() < 0.4 ? `Dr. ${p.last}` : `${office} ${p.last}`);

/** Quotes a CSV field only when it needs it (RFC 4180). */
const field = (v) => (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
const csv = (header, rows) => `${[header, ...rows].map((r) => r.map(field).join(",")).join("\n")}\n`;

// Names that exercise escaping in headers, ICS CN parameters and HTML.
const FIXED = {
  "chula-vista-esd": ["José", "Núñez"],
  "santa-rosa-city-schools": ["Siobhan", "O'Brien"],
};
// A few district superintendents read their mail in another zone (per-recipient time zones).
const ZONES = {
  "palo-alto-usd": "America/New_York",
  "clovis-usd": "America/Denver",
  "ventura-usd": "Pacific/Honolulu",
};
// About a quarter of the teams are new to the CA LMI and are invited to the June 19 pre-conference day.
const NEW_TEAMS = new Set([
  "hayward-usd", "san-leandro-usd", "napa-valley-usd", "montebello-usd", "moreno-valley-usd",
  "palm-springs-usd", "fontana-usd", "vista-usd", "twin-rivers-usd", "bakersfield-city-sd",
  "salinas-uhsd", "modesto-city-schools",
]);

const superintendents = [];
for (const county of COUNTIES) {
  const p = person();
  superintendents.push([
    mailbox(p, `${countySlug(county)}-coe.k12.test`),
    fullName(p),
    salutation(p, "Superintendent"),
    "County Superintendent of Schools",
    `${county} County Office of Education`,
    "",
    "",
  ]);
}

/** Team roles in the order a team adds them: a team of 3 is superintendent and the two leaders. */
const ROLES = [
  "Superintendent",
  "Certificated Union President",
  "School Board President",
  "Classified Union President",
  "Assistant Superintendent",
  "Principal",
];
const members = [];
for (const [team, district] of DISTRICTS) {
  const size = 3 + Math.floor(random() * 4); // 3..6
  const newToLmi = NEW_TEAMS.has(team) ? "yes" : "no";
  for (const role of ROLES.slice(0, size)) {
    const p = person(role === "Superintendent" ? FIXED[team] : undefined);
    const domain =
      role === "Certificated Union President"
        ? `${team}-teachers.test`
        : role === "Classified Union President"
          ? `${team}-classified.test`
          : `${team}.k12.test`;
    const email = mailbox(p, domain);
    members.push([email, fullName(p), role, team, district, newToLmi]);
    if (role === "Superintendent")
      superintendents.push([
        email,
        fullName(p),
        salutation(p, "Superintendent"),
        "Superintendent",
        district,
        team,
        ZONES[team] ?? "",
      ]);
  }
}

/**
 * Who registered and when (local time in San Diego). The invitation went out on 2017-05-15 at
 * 09:00; the reminders are due on 2017-05-19 and 2017-05-25 at 09:00; the deadline is the end of
 * 2017-05-26. The mix covers: early registrations, one just before the first reminder, teams that
 * registered between the two reminders (they get the first but not the second), one just after
 * the second reminder, and several on the deadline day itself.
 */
const REGISTRATIONS = [
  ["san-diego-usd", "2017-05-16 08:12"],
  ["fremont-usd", "2017-05-16 10:47"],
  ["long-beach-usd", "2017-05-16 15:05"],
  ["abc-usd", "2017-05-16 16:30"],
  ["milpitas-usd", "2017-05-17 09:21"],
  ["corona-norco-usd", "2017-05-17 11:58"],
  ["chula-vista-esd", "2017-05-17 14:02"],
  ["sacramento-city-usd", "2017-05-17 17:44"],
  ["hayward-usd", "2017-05-18 08:36"],
  ["oakland-usd", "2017-05-18 14:32"],
  ["poway-usd", "2017-05-18 16:15"],
  ["santa-rosa-city-schools", "2017-05-18 19:03"],
  ["elk-grove-usd", "2017-05-19 08:47"],
  ["fontana-usd", "2017-05-19 13:20"],
  ["palo-alto-usd", "2017-05-22 10:05"],
  ["twin-rivers-usd", "2017-05-22 15:48"],
  ["riverside-usd", "2017-05-23 09:30"],
  ["salinas-uhsd", "2017-05-24 11:11"],
  ["garden-grove-usd", "2017-05-24 16:52"],
  ["montebello-usd", "2017-05-25 10:14"],
  ["clovis-usd", "2017-05-25 15:40"],
  ["modesto-city-schools", "2017-05-26 08:05"],
  ["glendale-usd", "2017-05-26 12:27"],
  ["vista-usd", "2017-05-26 16:59"],
  ["stockton-usd", "2017-05-26 23:41"],
];
const teams = new Set(DISTRICTS.map(([t]) => t));
for (const [team] of REGISTRATIONS) if (!teams.has(team)) throw new Error(`unknown team ${team}`);

writeFileSync(
  join(OUT, "superintendents.csv"),
  csv(["email", "name", "salutation", "title", "organization", "team", "timezone"], superintendents),
);
writeFileSync(
  join(OUT, "team-members.csv"),
  csv(["email", "name", "role", "team", "district", "new_to_lmi"], members),
);
writeFileSync(join(OUT, "registrations.csv"), csv(["team", "registered_at"], REGISTRATIONS));
console.log(
  `${superintendents.length} superintendents, ${members.length} team members in ${DISTRICTS.length} teams, ${REGISTRATIONS.length} registrations`,
);
