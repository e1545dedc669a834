//! A deterministic, realistic helpdesk corpus: tickets in Swedish, Danish,
//! Norwegian, Finnish and English with personal data at roughly the density
//! of real support mail, plus PII-free text and Freshdesk's ticket list
//! (metadata, little prose). Shared by tests and benches (`#[path]`-included),
//! so both measure the same thing.
#![allow(dead_code)]

/// A tiny deterministic PRNG (xorshift): the corpus must be the same on every run.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const GREETINGS: &[&str] = &[
    "Hej Anna,",
    "Hei Lars,",
    "Hi Mary,",
    "Moi Mikko,",
    "Kære Mette,",
    "Hello,",
    "Dear support,",
];
const CLOSINGS: &[&str] = &[
    "Vänliga hälsningar\nErik Johansson",
    "Med venlig hilsen\nSøren Nielsen",
    "Med vennlig hilsen\nIngrid Hansen",
    "Ystävällisin terveisin\nAino Virtanen",
    "Best regards\nJohn Smith",
    "Tack på förhand!",
    "Thanks",
];
const BODY: &[&str] = &[
    "Jag kan inte logga in på kursplattformen sedan uppdateringen i går kväll.",
    "Vi har problem med fakturan för mars, beloppet 1 234,50 kr stämmer inte.",
    "Kurset vises ikke i oversigten, selvom jeg er tilmeldt.",
    "Jeg får en feilmelding når jeg prøver å laste opp oppgaven (versjon 3.2.1).",
    "Kurssin materiaalit eivät lataudu, virhekoodi 504 tulee joka kerta.",
    "The export to CSV fails for reports larger than 10 000 rows since release 2024.05.",
    "Order 2024-0012345 was delivered on 2024-05-01 but the licence is still inactive.",
    "Please see ticket #48213 from last week, the issue came back at 14:32 today.",
    "Invoice 20240501-7781 lists 12 seats, we only ordered 10.",
    "ISBN 978-91-29-65700-9 is missing from the library catalogue.",
];
const PII: &[&str] = &[
    "Mitt personnummer är 19811218-9876 om ni behöver det.",
    "Kortet som debiterades var 4111 1111 1111 1111.",
    "Mitt lösenord: Hemligt123 fungerar inte längre.",
    "Ni når mig på 070-123 45 67 eller anna.svensson@example.se.",
    "Mit CPR-nummer er 070761-4285.",
    "Fødselsnummer 01010750160, telefon +47 912 34 567.",
    "Henkilötunnus 131052-308T, sähköposti mikko.korhonen@example.fi.",
    "IBAN SE45 5000 0000 0583 9825 7466 for the refund please.",
    "My password is Tr0ub4dor&3, please reset it.",
    "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "Jag bor på Storgatan 12, 114 55 Stockholm.",
];

/// Free text of a ticket body (a few paragraphs, some personal data).
pub fn ticket_text(rng: &mut Rng) -> String {
    let mut s = String::new();
    s.push_str(rng.pick(GREETINGS));
    s.push_str("\n\n");
    for _ in 0..(3 + rng.below(4)) {
        s.push_str(rng.pick(BODY));
        s.push(' ');
        if rng.below(3) == 0 {
            s.push_str(rng.pick(PII));
            s.push(' ');
        }
        if rng.below(2) == 0 {
            s.push('\n');
        }
    }
    s.push_str("\n\n");
    s.push_str(rng.pick(CLOSINGS));
    s.push('\n');
    s
}

/// PII-free text of about `len` bytes.
pub fn clean_text(rng: &mut Rng, len: usize) -> String {
    let mut s = String::new();
    while s.len() < len {
        s.push_str(rng.pick(BODY));
        s.push(if rng.below(4) == 0 { '\n' } else { ' ' });
    }
    s
}

fn json_str(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// One Freshdesk-shaped ticket as JSON (HTML description + text, custom fields).
pub fn ticket_json(rng: &mut Rng, id: u64) -> String {
    let text = ticket_text(rng);
    let html = text.replace('\n', "<br>");
    format!(
        concat!(
            "{{\"id\":{id},\"subject\":{subject},\"description\":{html},\"description_text\":{text},",
            "\"email\":\"requester{id}@example.org\",\"name\":\"Requester {id}\",\"phone\":null,",
            "\"status\":2,\"priority\":{prio},\"source\":1,\"type\":\"Question\",\"tags\":[\"lms\",\"login\"],",
            "\"created_at\":\"2024-05-{day:02}T10:{min:02}:00Z\",\"updated_at\":\"2024-05-{day:02}T11:{min:02}:00Z\",",
            "\"custom_fields\":{{\"cf_customer_no\":\"C-{cust}\",\"cf_product\":\"LMS Pro\",\"cf_order\":\"2024-{order}\"}}}}"
        ),
        id = id,
        subject = json_str(rng.pick(BODY)),
        html = json_str(&html),
        text = json_str(&text),
        prio = 1 + rng.below(4),
        day = 1 + rng.below(28),
        min = rng.below(60),
        cust = 10000 + rng.below(90000),
        order = 1000000 + rng.below(9000000),
    )
}

/// A JSON array of tickets of at least `len` bytes.
pub fn tickets_json(seed: u64, len: usize) -> Vec<u8> {
    json_array(seed, len, ticket_json)
}

/// A JSON array of `entry` values (ids from 1000) of at least `len` bytes.
fn json_array(seed: u64, len: usize, entry: fn(&mut Rng, u64) -> String) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let mut s = String::from("[");
    let mut id = 1000;
    while s.len() < len {
        if id > 1000 {
            s.push(',');
        }
        s.push_str(&entry(&mut rng, id));
        id += 1;
    }
    s.push(']');
    s.into_bytes()
}

/// One ticket as Freshdesk's "List All Tickets" (`GET /api/v2/tickets`,
/// `include=requester`) returns it: every documented field, most of them
/// ids, timestamps, flags and nulls, no description. Unlike
/// [`ticket_json`], most of its bytes are JSON structure, not prose.
pub fn ticket_list_entry(rng: &mut Rng, id: u64) -> String {
    let (day, min) = (1 + rng.below(28), rng.below(60));
    let requester = 5_000_000_000 + rng.below(1_000_000);
    let (given, family) = (
        rng.pick(&["Anna", "Lars", "Mette", "Mikko", "Ingrid", "John"]),
        rng.pick(&["Svensson", "Nielsen", "Hansen", "Virtanen", "Smith"]),
    );
    let phone = if rng.below(3) == 0 {
        "\"+46 70 123 45 67\"".to_string()
    } else {
        "null".to_string()
    };
    format!(
        concat!(
            "{{\"cc_emails\":[],\"fwd_emails\":[],\"reply_cc_emails\":[],\"ticket_cc_emails\":[],",
            "\"fr_escalated\":{esc},\"spam\":false,\"email_config_id\":{config},\"group_id\":{group},",
            "\"priority\":{prio},\"requester_id\":{requester},\"responder_id\":{agent},\"source\":{source},",
            "\"company_id\":null,\"status\":{status},\"subject\":{subject},\"association_type\":null,",
            "\"support_email\":\"support@example.com\",\"to_emails\":null,\"product_id\":null,\"id\":{id},",
            "\"type\":\"Question\",\"due_by\":\"2024-05-{due:02}T10:{min:02}:00Z\",",
            "\"fr_due_by\":\"2024-05-{day:02}T18:{min:02}:00Z\",\"is_escalated\":false,",
            "\"custom_fields\":{{\"cf_customer_no\":\"C-{cust}\",\"cf_product\":\"LMS Pro\",\"cf_order\":null}},",
            "\"created_at\":\"2024-05-{day:02}T10:{min:02}:00Z\",\"updated_at\":\"2024-05-{day:02}T11:{min:02}:00Z\",",
            "\"associated_tickets_count\":null,\"tags\":[\"lms\",\"login\"],\"nr_due_by\":null,\"nr_escalated\":false,",
            "\"requester\":{{\"id\":{requester},\"name\":\"{given} {family}\",",
            "\"email\":\"{email}@example.se\",\"mobile\":null,\"phone\":{phone}}}}}"
        ),
        esc = rng.below(5) == 0,
        config = 100_000 + rng.below(3),
        group = 7_000_000_000 + rng.below(4),
        prio = 1 + rng.below(4),
        requester = requester,
        agent = 7_000_100_000 + rng.below(12),
        source = 1 + rng.below(3),
        status = 2 + rng.below(4),
        subject = json_str(rng.pick(BODY)),
        id = id,
        due = 2 + day.min(26),
        day = day,
        min = min,
        cust = 10000 + rng.below(90000),
        given = given,
        family = family,
        email = format!("{}.{}", given.to_lowercase(), family.to_lowercase()),
        phone = phone,
    )
}

/// A JSON array of [`ticket_list_entry`] tickets of at least `len` bytes.
pub fn ticket_list_json(seed: u64, len: usize) -> Vec<u8> {
    json_array(seed, len, ticket_list_entry)
}

/// Ticket mail text of at least `len` bytes (half tickets, half PII-free text).
pub fn tickets_text(seed: u64, len: usize) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let mut s = String::new();
    while s.len() < len {
        s.push_str(&ticket_text(&mut rng));
        s.push_str(&clean_text(&mut rng, 600));
        s.push_str("\n---\n");
    }
    s.into_bytes()
}
