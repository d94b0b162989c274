//! The C-CDA R2.1 Continuity of Care Document (CCD): the patient's record as HL7 XML, for
//! another clinic or an app to import. Each section carries a readable table (what a CDA viewer
//! shows) and coded entries that point back into it (what a receiving system imports).
//!
//! Written as text, there being no XML crate here: every value from the record goes through
//! [`esc`].

use std::fmt::Write;

use domain::records::{
    AllergyView, ImmunizationView, MedicationView, ProblemView, ResultDay, ResultRow, VisitView,
    VitalView,
};
use sha2::{Digest, Sha256};
use time::format_description::well_known::Rfc3339;

/// Who the document is about.
pub struct CcdPatient<'a> {
    pub given: &'a str,
    pub family: &'a str,
    /// YYYY-MM-DD
    pub birth_date: &'a str,
    /// FHIR gender: "female" | "male" | "other" | "unknown"
    pub sex: Option<&'a str>,
    pub mrn: &'a str,
    /// The MRN's identifier system URI (e.g. "urn:uuid:6f2a..."), if known.
    pub mrn_system: Option<&'a str>,
}

/// Everything the document holds, already narrowed to its date range.
pub struct CcdInput<'a> {
    pub patient: CcdPatient<'a>,
    pub clinic_name: &'a str,
    /// A fresh UUID for ClinicalDocument/id.
    pub document_id: &'a str,
    pub created_at: time::OffsetDateTime,
    /// The covered period, both ends optional (YYYY-MM-DD): documentationOf/serviceEvent/effectiveTime.
    pub from: Option<&'a str>,
    pub to: Option<&'a str>,
    pub problems: &'a [domain::records::ProblemView],
    pub medications: &'a [domain::records::MedicationView],
    pub allergies: &'a [domain::records::AllergyView],
    pub immunizations: &'a [domain::records::ImmunizationView],
    pub results: &'a [domain::records::ResultDay],
    pub vitals: &'a [domain::records::VitalView],
    pub visits: &'a [domain::records::VisitView],
}

/// The C-CDA template arc; every section and entry template hangs below it.
const T: &str = "2.16.840.1.113883.10.20.22";
const LOINC: &str = "2.16.840.1.113883.6.1";
const SNOMED: &str = "2.16.840.1.113883.6.96";
/// HL7's example OID. Only for a clinic that gave no identifier system for its MRNs: a receiver
/// can still match on the MRN, but must not read the root as the clinic's.
const FALLBACK_MRN_ROOT: &str = "2.16.840.1.113883.19.5";
const SOFTWARE: &str = "My Health Connection";
const CONCERN: &str =
    "<code code=\"CONC\" codeSystem=\"2.16.840.1.113883.5.6\" displayName=\"Concern\"/>";
const ASSERTION: &str = "<code code=\"ASSERTION\" codeSystem=\"2.16.840.1.113883.5.4\"/>";
const DONE: &str = "<statusCode code=\"completed\"/>";
const OBS: &str = "<observation classCode=\"OBS\" moodCode=\"EVN\">";

/// Writing to a String cannot fail; this keeps the `Result` out of every line.
macro_rules! put {
    ($out:expr, $($arg:tt)*) => {{
        let _ = write!($out, $($arg)*);
    }};
}

/// Text and attribute values for XML. Characters XML 1.0 cannot carry at all (most C0
/// controls) are dropped: one stray byte from an upstream system must not make the whole
/// document unreadable.
fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            '\t' | '\n' | '\r' => o.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => o.push(c),
        }
    }
    o
}

/// An optional field that is really there (upstream systems send empty strings too).
fn given(o: &Option<String>) -> Option<&str> {
    o.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// `YYYY-MM-DD` (or a dateTime's first ten characters) → `YYYYMMDD`. Anything else counts as
/// unknown rather than passing through: one malformed TS fails validation of the whole file.
fn hl7_date(d: Option<&str>) -> Option<String> {
    domain::person::parse_iso_date(d?.trim().get(0..10)?).map(digits)
}

fn digits(d: time::Date) -> String {
    format!("{:04}{:02}{:02}", d.year(), u8::from(d.month()), d.day())
}

fn hl7_instant(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let (d, h, m, s) = (digits(t.date()), t.hour(), t.minute(), t.second());
    format!("{d}{h:02}{m:02}{s:02}+0000")
}

/// A FHIR dateTime keeps its time of day; a bare date stays a date.
fn hl7_time(t: &str) -> Option<String> {
    match time::OffsetDateTime::parse(t.trim(), &Rfc3339) {
        Ok(dt) => Some(hl7_instant(dt)),
        Err(_) => hl7_date(Some(t)),
    }
}

/// The attribute half of a TS: the value when known, else the null flavor the templates allow.
fn ts(v: Option<String>) -> String {
    v.map_or_else(|| "nullFlavor=\"UNK\"".into(), |v| format!("value=\"{v}\""))
}

/// A stable id for one entry: the same record item gets the same id in every CCD, so a
/// receiver can reconcile a later document with an earlier one instead of duplicating it.
/// Name-based (SHA-256, RFC 9562 version 8), upper case as the HL7 uuid type requires.
fn uid(kind: &str, key: &str) -> String {
    let h = Sha256::digest(format!("my-health-connection/ccda/{kind}/{key}").as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&h[..16]);
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let x = hex::encode_upper(b);
    [&x[..8], &x[8..12], &x[12..16], &x[16..20], &x[20..]].join("-")
}

/// The opening every entry shares: its template (below [`T`]) and its id.
fn head(template: &str, ext: &str, kind: &str, key: &str) -> String {
    let id = uid(kind, key);
    format!("<templateId root=\"{T}.{template}\" extension=\"{ext}\"/><id root=\"{id}\"/>")
}

/// A lab's number as PQ accepts it; stricter than `f64::from_str`, which takes "NaN" and "1e5".
fn is_decimal(s: &str) -> bool {
    let d = s.strip_prefix('-').unwrap_or(s);
    let (i, f) = d.split_once('.').unwrap_or((d, "0"));
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    digits(i) && digits(f)
}

fn is_oid(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit() || b == b'.')
}

/// A code in a system the receiver can resolve: (code, system OID).
type Code<'a> = (&'a str, &'a str);

/// A coded element that always points at the narrative; without a usable code, the null flavor
/// says why. `tag` may carry attributes (`value xsi:type="CD"`).
fn coded(tag: &str, code: Option<Code<'_>>, null: &str, display: &str, rid: &str) -> String {
    let name = tag.split(' ').next().unwrap_or(tag);
    let text = format!("<originalText><reference value=\"#{rid}\"/></originalText>");
    let Some((c, oid)) = code else {
        return format!("<{tag} nullFlavor=\"{null}\">{text}</{name}>");
    };
    let (c, display) = (esc(c), esc(display));
    format!("<{tag} code=\"{c}\" codeSystem=\"{oid}\" displayName=\"{display}\">{text}</{name}>")
}

/// One table cell; with an id, something an entry can reference.
struct Cell(Option<String>, String);

fn cell(id: Option<&str>, text: &str) -> Cell {
    let text = if text.trim().is_empty() { "-" } else { text };
    Cell(id.map(str::to_owned), text.to_owned())
}

fn opt(s: &Option<String>) -> Cell {
    cell(None, given(s).unwrap_or("-"))
}

/// A section's fixed parts: template (below [`T`]), extension, LOINC code and display, title,
/// table columns.
type Meta = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
);

/// What a section builder returns: the table rows and the entries that point into them.
type Built = (Vec<Vec<Cell>>, String);

fn write_section(out: &mut String, m: &Meta, (rows, entries): Built) {
    let &(template, ext, code, display, title, columns) = m;
    // The entries-required templates (".1") say "nothing known" with section/@nullFlavor.
    let ni = rows.is_empty() && template.ends_with(".1");
    let null = ["", " nullFlavor=\"NI\""][usize::from(ni)];
    let (display, title) = (esc(display), esc(title));
    put!(
        out,
        "<component><section{null}>\n<templateId root=\"{T}.{template}\" extension=\"{ext}\"/>\n\
         <code code=\"{code}\" codeSystem=\"{LOINC}\" codeSystemName=\"LOINC\" \
         displayName=\"{display}\"/>\n<title>{title}</title>\n"
    );
    if rows.is_empty() {
        out.push_str("<text>No information.</text>\n</section></component>\n");
        return;
    }
    out.push_str("<text><table border=\"1\" width=\"100%\">\n<thead><tr>");
    for c in columns {
        put!(out, "<th>{}</th>", esc(c));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in &rows {
        out.push_str("<tr>");
        for Cell(id, text) in row {
            match id {
                Some(id) => put!(out, "<td ID=\"{id}\">{}</td>", esc(text)),
                None => put!(out, "<td>{}</td>", esc(text)),
            }
        }
        out.push_str("</tr>\n");
    }
    put!(
        out,
        "</tbody>\n</table></text>\n{entries}</section></component>\n"
    );
}

/// A concern stays active unless the record says the problem or allergy is over.
fn concern_status(status: &str) -> &'static str {
    match status.to_lowercase().as_str() {
        "resolved" | "inactive" => "completed",
        _ => "active",
    }
}

fn allergies(items: &[AllergyView]) -> Built {
    let (mut rows, mut e) = (Vec::new(), String::new());
    for (i, a) in items.iter().enumerate() {
        let (rid, reaction) = (format!("allergy-{}", i + 1), given(&a.reaction));
        let xid = format!("{rid}-reaction");
        rows.push(vec![
            cell(Some(&rid), &a.name),
            cell(reaction.map(|_| xid.as_str()), reaction.unwrap_or("-")),
            cell(None, &a.criticality),
            cell(None, &a.status),
            opt(&a.recorded),
        ]);
        let act = head("4.30", "2015-08-01", "allergy-concern", &a.id);
        let obs = head("4.7", "2014-06-09", "allergy", &a.id);
        let status = concern_status(&a.status);
        let low = ts(hl7_date(given(&a.recorded_date)));
        // The view has the substance's code but not its system (RxNorm or SNOMED CT), and a
        // code put in the wrong system names another substance: the name has to do.
        let substance = coded("code", None, "UNK", "", &rid);
        let name = esc(&a.name);
        put!(
            e,
            "<entry typeCode=\"DRIV\"><act classCode=\"ACT\" moodCode=\"EVN\">{act}\n{CONCERN}\
             <statusCode code=\"{status}\"/><effectiveTime><low {low}/></effectiveTime>\n\
             <entryRelationship typeCode=\"SUBJ\">{OBS}{obs}\n{ASSERTION}\
             <text><reference value=\"#{rid}\"/></text>{DONE}\
             <effectiveTime><low nullFlavor=\"UNK\"/></effectiveTime>\n<value xsi:type=\"CD\" \
             code=\"419199007\" codeSystem=\"{SNOMED}\" codeSystemName=\"SNOMED CT\" \
             displayName=\"Allergy to substance (disorder)\"/>\n<participant typeCode=\"CSM\">\
             <participantRole classCode=\"MANU\"><playingEntity classCode=\"MMAT\">{substance}\
             <name>{name}</name></playingEntity></participantRole></participant>\n"
        );
        if reaction.is_some() {
            let obs = head("4.9", "2014-06-09", "allergy-reaction", &a.id);
            let value = coded("value xsi:type=\"CD\"", None, "OTH", "", &xid);
            put!(
                e,
                "<entryRelationship typeCode=\"MFST\" inversionInd=\"true\">{OBS}{obs}\n\
                 {ASSERTION}<text><reference value=\"#{xid}\"/></text>{DONE}\n{value}\n\
                 </observation></entryRelationship>\n"
            );
        }
        let critical = match a.criticality.as_str() {
            "High risk" => Some(("CRITH", "High criticality")),
            "Low risk" => Some(("CRITL", "Low criticality")),
            _ => None,
        };
        if let Some((code, display)) = critical {
            put!(
                e,
                "<entryRelationship typeCode=\"SUBJ\" inversionInd=\"true\">{OBS}\
                 <templateId root=\"{T}.4.145\"/><code code=\"82606-5\" codeSystem=\"{LOINC}\" \
                 codeSystemName=\"LOINC\" displayName=\"Criticality\"/>{DONE}\n<value \
                 xsi:type=\"CD\" code=\"{code}\" codeSystem=\"2.16.840.1.113883.5.1063\" \
                 codeSystemName=\"ObservationValue\" displayName=\"{display}\"/>\n\
                 </observation></entryRelationship>\n"
            );
        }
        e.push_str("</observation></entryRelationship>\n</act></entry>\n");
    }
    (rows, e)
}

fn medications(items: &[MedicationView]) -> Built {
    let (mut rows, mut e) = (Vec::new(), String::new());
    for (i, m) in items.iter().enumerate() {
        let (rid, dosage) = (format!("medication-{}", i + 1), given(&m.dosage));
        let sig = format!("{rid}-sig");
        rows.push(vec![
            cell(Some(&rid), &m.name),
            cell(dosage.map(|_| sig.as_str()), dosage.unwrap_or("-")),
            cell(None, &m.status),
            opt(&m.prescribed),
        ]);
        let status = match m.status.to_lowercase().as_str() {
            "stopped" => "aborted",
            "cancelled" => "cancelled",
            "on hold" => "suspended",
            "completed" => "completed",
            _ if m.active => "active",
            _ => "completed",
        };
        let open = head("4.16", "2014-06-09", "medication", &m.id);
        let low = ts(hl7_date(given(&m.prescribed_date)));
        let rxnorm = given(&m.rxnorm).map(|c| (c, "2.16.840.1.113883.6.88"));
        let drug = coded("code", rxnorm, "UNK", &m.name, &rid);
        put!(
            e,
            "<entry typeCode=\"DRIV\"><substanceAdministration classCode=\"SBADM\" moodCode=\"INT\">\
             {open}\n<text><reference value=\"#{rid}\"/></text><statusCode code=\"{status}\"/>\n\
             <effectiveTime xsi:type=\"IVL_TS\"><low {low}/></effectiveTime>\
             <doseQuantity nullFlavor=\"UNK\"/>\n<consumable><manufacturedProduct classCode=\"MANU\">\
             <templateId root=\"{T}.4.23\" extension=\"2014-06-09\"/>\n\
             <manufacturedMaterial>{drug}</manufacturedMaterial></manufacturedProduct></consumable>\n"
        );
        // The dosage is free text ("1 tablet twice daily"): the Free Text Sig carries it as
        // written rather than as a guessed doseQuantity.
        if dosage.is_some() {
            put!(
                e,
                "<entryRelationship typeCode=\"COMP\"><substanceAdministration classCode=\"SBADM\" \
                 moodCode=\"INT\"><templateId root=\"{T}.4.147\"/>\n<code code=\"76662-6\" \
                 codeSystem=\"{LOINC}\" codeSystemName=\"LOINC\" displayName=\"Instructions \
                 Medication\"/><text><reference value=\"#{sig}\"/></text>\n<consumable>\
                 <manufacturedProduct><manufacturedLabeledDrug nullFlavor=\"NA\"/>\
                 </manufacturedProduct></consumable></substanceAdministration></entryRelationship>\n"
            );
        }
        e.push_str("</substanceAdministration></entry>\n");
    }
    (rows, e)
}

/// The FHIR code systems a problem arrives in, as OIDs; a system not known here stays out of
/// the coded value rather than being guessed.
fn problem_system(system: &str) -> Option<&str> {
    match system.trim() {
        "http://snomed.info/sct" => Some(SNOMED),
        "http://hl7.org/fhir/sid/icd-10-cm" => Some("2.16.840.1.113883.6.90"),
        s => s.strip_prefix("urn:oid:").filter(|o| is_oid(o)),
    }
}

fn problems(items: &[ProblemView]) -> Built {
    let (mut rows, mut e) = (Vec::new(), String::new());
    for (i, p) in items.iter().enumerate() {
        let rid = format!("problem-{}", i + 1);
        rows.push(vec![
            cell(Some(&rid), &p.name),
            cell(None, &p.status),
            opt(&p.onset),
        ]);
        let status = concern_status(&p.status);
        // A resolved problem carries effectiveTime/high; without a resolution date it is UNK.
        let high = ["", "<high nullFlavor=\"UNK\"/>"][usize::from(status == "completed")];
        let system = p.code_system.as_deref().and_then(problem_system);
        // Coded in a system without an OID here is OTH; not coded at all is UNK.
        let null = if given(&p.code).is_some() {
            "OTH"
        } else {
            "UNK"
        };
        let value = coded(
            "value xsi:type=\"CD\"",
            given(&p.code).zip(system),
            null,
            &p.name,
            &rid,
        );
        let act = head("4.3", "2015-08-01", "problem-concern", &p.id);
        let obs = head("4.4", "2015-08-01", "problem", &p.id);
        let low = ts(hl7_date(given(&p.onset_date)));
        put!(
            e,
            "<entry typeCode=\"DRIV\"><act classCode=\"ACT\" moodCode=\"EVN\">{act}\n{CONCERN}\
             <statusCode code=\"{status}\"/><effectiveTime><low {low}/></effectiveTime>\n\
             <entryRelationship typeCode=\"SUBJ\">{OBS}{obs}\n<code code=\"55607006\" \
             codeSystem=\"{SNOMED}\" codeSystemName=\"SNOMED CT\" displayName=\"Problem\">\
             <translation code=\"75326-9\" codeSystem=\"{LOINC}\" codeSystemName=\"LOINC\" \
             displayName=\"Problem\"/></code>\n<text><reference value=\"#{rid}\"/></text>{DONE}\
             <effectiveTime><low {low}/>{high}</effectiveTime>\n{value}\n\
             </observation></entryRelationship>\n</act></entry>\n"
        );
    }
    (rows, e)
}

/// The result as PQ when it is a number with a unit, else as the text the lab sent.
fn result_value(r: &ResultRow) -> String {
    let v = r.value.trim();
    match given(&r.unit) {
        Some(u) if is_decimal(v) && !u.contains(char::is_whitespace) => {
            format!("<value xsi:type=\"PQ\" value=\"{v}\" unit=\"{}\"/>", esc(u))
        }
        _ => format!("<value xsi:type=\"ST\">{}</value>", esc(&r.value)),
    }
}

fn bound(s: &str) -> Option<&str> {
    Some(s.trim()).filter(|s| is_decimal(s))
}

/// (low, high) from a range as records.rs writes it ("3.5–5.1", "≤ 5", "≥ 60") or as labs
/// often send it ("3.5-5.1"); a hyphen at the start is a minus sign, not the separator.
fn bounds(b: &str) -> Option<(Option<&str>, Option<&str>)> {
    if let Some(h) = b.strip_prefix('≤') {
        return Some((None, Some(bound(h)?)));
    }
    if let Some(l) = b.strip_prefix('≥') {
        return Some((Some(bound(l)?), None));
    }
    let (at, c) = b
        .char_indices()
        .skip(1)
        .find(|&(_, c)| c == '–' || c == '-')?;
    Some((
        Some(bound(&b[..at])?),
        Some(bound(&b[at + c.len_utf8()..])?),
    ))
}

/// observationRange needs a value: the bounds as IVL_PQ when the text reads as a range in the
/// result's unit, else the text itself.
fn reference_range(range: &str, unit: Option<&str>) -> String {
    let text = esc(range);
    let body = unit.and_then(|u| range.trim().strip_suffix(u));
    let unit = unit.filter(|u| !u.contains(char::is_whitespace));
    let value = match (bounds(body.unwrap_or(range).trim()), unit) {
        (Some((low, high)), Some(u)) => {
            let u = esc(u);
            let b = |tag, v: Option<&str>| {
                v.map(|v| format!("<{tag} value=\"{v}\" unit=\"{u}\"/>"))
                    .unwrap_or_default()
            };
            format!(
                "<value xsi:type=\"IVL_PQ\">{}{}</value>",
                b("low", low),
                b("high", high)
            )
        }
        _ => format!("<value xsi:type=\"ST\">{text}</value>"),
    };
    format!(
        "<referenceRange><observationRange><text>{text}</text>{value}</observationRange></referenceRange>\n"
    )
}

fn results(days: &[ResultDay]) -> Built {
    let (mut rows, mut e) = (Vec::new(), String::new());
    for day in days {
        for report in day.reports.iter().filter(|r| !r.rows.is_empty()) {
            let at = hl7_time(&report.collected_at).or_else(|| hl7_date(Some(&day.date)));
            let (when, name) = (ts(at), esc(&report.name));
            let open = head("4.1", "2015-08-01", "result-report", &report.id);
            put!(
                e,
                "<entry typeCode=\"DRIV\"><organizer classCode=\"BATTERY\" moodCode=\"EVN\">{open}\n\
                 <code nullFlavor=\"UNK\"><originalText>{name}</originalText></code>{DONE}\n\
                 <effectiveTime><low {when}/><high {when}/></effectiveTime>\n"
            );
            for r in &report.rows {
                let rid = format!("result-{}", rows.len() + 1);
                let shown = match given(&r.unit) {
                    Some(u) => format!("{} {u}", r.value),
                    None => r.value.clone(),
                };
                rows.push(vec![
                    cell(Some(&rid), &r.name),
                    cell(None, &shown),
                    opt(&r.range),
                    cell(None, r.flag.label()),
                    cell(None, &day.label),
                    cell(None, &report.name),
                ]);
                let open = head("4.2", "2015-08-01", "result", &r.id);
                let code = coded(
                    "code",
                    given(&r.loinc).map(|c| (c, LOINC)),
                    "UNK",
                    &r.name,
                    &rid,
                );
                let value = result_value(r);
                put!(
                    e,
                    "<component>{OBS}{open}\n{code}\n<text><reference value=\"#{rid}\"/></text>\
                     {DONE}<effectiveTime {when}/>\n{value}\n"
                );
                if !r.flag.code().is_empty() {
                    let (code, label) = (r.flag.code(), esc(r.flag.label()));
                    put!(
                        e,
                        "<interpretationCode code=\"{code}\" codeSystem=\"2.16.840.1.113883.5.83\" \
                         codeSystemName=\"ObservationInterpretation\" displayName=\"{label}\"/>\n"
                    );
                }
                if let Some(range) = given(&r.range) {
                    e.push_str(&reference_range(range, given(&r.unit)));
                }
                e.push_str("</observation></component>\n");
            }
            e.push_str("</organizer></entry>\n");
        }
    }
    (rows, e)
}

/// How a vital sign's text value reads: a blood pressure, one quantity, or neither.
enum Vital<'a> {
    Pressure(&'a str, &'a str, &'a str),
    Quantity(&'a str, &'a str),
    Text,
}

fn vital_value(v: &str) -> Vital<'_> {
    let Some((num, unit)) = v.trim().split_once(' ') else {
        return Vital::Text;
    };
    let unit = unit.trim();
    if unit.is_empty() || unit.contains(char::is_whitespace) {
        return Vital::Text;
    }
    match num.split_once('/') {
        Some((s, d)) if is_decimal(s) && is_decimal(d) => Vital::Pressure(s, d, unit),
        None if is_decimal(num) => Vital::Quantity(num, unit),
        _ => Vital::Text,
    }
}

fn pq(n: &str, u: &str) -> String {
    format!("<value xsi:type=\"PQ\" value=\"{n}\" unit=\"{}\"/>", esc(u))
}

/// One Vital Sign Observation, pointing at its row in the table.
fn vital_obs(
    e: &mut String,
    key: &str,
    code: Option<Code<'_>>,
    name: &str,
    rid: &str,
    when: &str,
    value: &str,
) {
    let (open, code) = (
        head("4.27", "2014-06-09", "vital", key),
        coded("code", code, "UNK", name, rid),
    );
    put!(
        e,
        "<component>{OBS}{open}\n{code}\n<text><reference value=\"#{rid}\"/></text>{DONE}\
         <effectiveTime {when}/>\n{value}\n</observation></component>\n"
    );
}

fn vitals(items: &[VitalView]) -> Built {
    let rows = items.iter().enumerate().map(|(i, v)| {
        let rid = format!("vital-{}", i + 1);
        vec![
            cell(Some(&rid), &v.name),
            cell(None, &v.value),
            cell(None, &v.date_label),
        ]
    });
    // One organizer per day, days in the order the list gives them.
    let mut days: Vec<Option<&str>> = Vec::new();
    for d in items.iter().map(|v| given(&v.date)) {
        if !days.contains(&d) {
            days.push(d);
        }
    }
    let mut e = String::new();
    for day in days {
        let on_day = || {
            items
                .iter()
                .enumerate()
                .filter(move |(_, v)| given(&v.date) == day)
        };
        let key: Vec<&str> = on_day().map(|(_, v)| v.id.as_str()).collect();
        let open = head("4.26", "2015-08-01", "vitals", &key.join(","));
        let when = ts(hl7_date(day));
        put!(
            e,
            "<entry typeCode=\"DRIV\"><organizer classCode=\"CLUSTER\" moodCode=\"EVN\">{open}\n\
             <code code=\"46680005\" codeSystem=\"{SNOMED}\" codeSystemName=\"SNOMED CT\" \
             displayName=\"Vital Signs\"><translation code=\"74728-7\" codeSystem=\"{LOINC}\" \
             codeSystemName=\"LOINC\" displayName=\"Vital signs, weight, height, head \
             circumference, oximetry, BMI, and BSA panel - HL7.CCDAr1\"/></code>{DONE}\
             <effectiveTime {when}/>\n"
        );
        for (i, v) in on_day() {
            let (rid, key) = (format!("vital-{}", i + 1), v.id.as_str());
            let loinc = given(&v.loinc).map(|c| (c, LOINC));
            let (e, when) = (&mut e, when.as_str());
            match vital_value(&v.value) {
                // "124/78 mm[Hg]" is two observations in C-CDA: the panel code is not a vital
                // sign result type, and a PQ holds one number.
                Vital::Pressure(s, d, u) => {
                    let (sys, dia) = (format!("{key}/systolic"), format!("{key}/diastolic"));
                    let (s, d) = (pq(s, u), pq(d, u));
                    vital_obs(
                        e,
                        &sys,
                        Some(("8480-6", LOINC)),
                        "Systolic blood pressure",
                        &rid,
                        when,
                        &s,
                    );
                    vital_obs(
                        e,
                        &dia,
                        Some(("8462-4", LOINC)),
                        "Diastolic blood pressure",
                        &rid,
                        when,
                        &d,
                    );
                }
                Vital::Quantity(n, u) => vital_obs(e, key, loinc, &v.name, &rid, when, &pq(n, u)),
                // The template takes only PQ; the text stays in the table the entry points to.
                Vital::Text => {
                    let none = "<value xsi:type=\"PQ\" nullFlavor=\"OTH\" unit=\"1\"/>";
                    vital_obs(e, key, loinc, &v.name, &rid, when, none);
                }
            }
        }
        e.push_str("</organizer></entry>\n");
    }
    (rows.collect(), e)
}

fn immunizations(items: &[ImmunizationView]) -> Built {
    let (mut rows, mut e) = (Vec::new(), String::new());
    for (i, s) in items.iter().enumerate() {
        let rid = format!("immunization-{}", i + 1);
        let dose = match (given(&s.dose), given(&s.dose_number)) {
            (Some(d), Some(n)) => format!("{d}, dose {n}"),
            (Some(d), None) => d.to_owned(),
            (None, Some(n)) => format!("dose {n}"),
            (None, None) => "-".into(),
        };
        rows.push(vec![
            cell(Some(&rid), &s.name),
            opt(&s.date_label),
            cell(None, &dose),
            opt(&s.lot),
            opt(&s.performer),
            cell(None, &s.status),
        ]);
        // A vaccine recorded as not given is still an entry, negated.
        let negated = s.status.eq_ignore_ascii_case("not done");
        let cvx = given(&s.cvx).map(|c| (c, "2.16.840.1.113883.12.292"));
        let vaccine = coded("code", cvx, "UNK", &s.name, &rid);
        let lot = given(&s.lot).map(|l| format!("<lotNumberText>{}</lotNumberText>", esc(l)));
        let lot = lot.unwrap_or_default();
        let open = head("4.52", "2015-08-01", "immunization", &s.id);
        let when = ts(hl7_date(given(&s.date)));
        put!(
            e,
            "<entry typeCode=\"DRIV\"><substanceAdministration classCode=\"SBADM\" moodCode=\"EVN\" \
             negationInd=\"{negated}\">{open}\n<text><reference value=\"#{rid}\"/></text>{DONE}\
             <effectiveTime {when}/>\n<consumable><manufacturedProduct classCode=\"MANU\">\
             <templateId root=\"{T}.4.54\" extension=\"2014-06-09\"/>\n<manufacturedMaterial>\
             {vaccine}{lot}</manufacturedMaterial></manufacturedProduct></consumable>\n\
             </substanceAdministration></entry>\n"
        );
    }
    (rows, e)
}

fn encounters(items: &[VisitView]) -> Built {
    let (mut rows, mut e) = (Vec::new(), String::new());
    for (i, v) in items.iter().enumerate() {
        let (rid, reason) = (format!("encounter-{}", i + 1), given(&v.reason));
        let why = format!("{rid}-reason");
        rows.push(vec![
            cell(Some(&rid), &v.kind),
            opt(&v.date_label),
            opt(&v.clinician),
            opt(&v.location),
            cell(reason.map(|_| why.as_str()), reason.unwrap_or("-")),
            cell(None, &v.diagnoses.join("; ")),
        ]);
        let open = head("4.49", "2015-08-01", "encounter", &v.id);
        let (kind, when) = (
            coded("code", None, "UNK", "", &rid),
            ts(hl7_date(given(&v.date))),
        );
        put!(
            e,
            "<entry typeCode=\"DRIV\"><encounter classCode=\"ENC\" moodCode=\"EVN\">{open}\n{kind}\
             <text><reference value=\"#{rid}\"/></text><effectiveTime {when}/>\n"
        );
        if let Some(c) = given(&v.clinician).map(esc) {
            put!(
                e,
                "<performer><assignedEntity><id nullFlavor=\"NI\"/><assignedPerson><name>{c}</name>\
                 </assignedPerson></assignedEntity></performer>\n"
            );
        }
        if let Some(l) = given(&v.location).map(esc) {
            put!(
                e,
                "<participant typeCode=\"LOC\"><participantRole classCode=\"SDLOC\">\
                 <templateId root=\"{T}.4.32\"/><code nullFlavor=\"UNK\"/><playingEntity \
                 classCode=\"PLC\"><name>{l}</name></playingEntity></participantRole></participant>\n"
            );
        }
        if reason.is_some() {
            let obs = head("4.19", "2014-06-09", "encounter-reason", &v.id);
            let value = coded("value xsi:type=\"CD\"", None, "OTH", "", &why);
            put!(
                e,
                "<entryRelationship typeCode=\"RSON\">{OBS}{obs}\n<code code=\"409586006\" \
                 codeSystem=\"{SNOMED}\" codeSystemName=\"SNOMED CT\" displayName=\"Complaint\"/>\
                 <text><reference value=\"#{why}\"/></text>{DONE}\n{value}\n\
                 </observation></entryRelationship>\n"
            );
        }
        e.push_str("</encounter></entry>\n");
    }
    (rows, e)
}

/// The patient's id: under the clinic's own identifier system when it names one as a UUID or
/// OID (the only forms an II root takes), else under the fallback root.
fn patient_id(p: &CcdPatient<'_>) -> String {
    let sys = p.mrn_system.map(str::trim).unwrap_or("");
    let uuid = sys.strip_prefix("urn:uuid:");
    let uuid =
        uuid.filter(|u| u.len() == 36 && u.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-'));
    let root = match (uuid, sys.strip_prefix("urn:oid:").filter(|o| is_oid(o))) {
        (Some(u), _) => u.to_ascii_uppercase(),
        (None, Some(o)) => o.to_owned(),
        (None, None) => FALLBACK_MRN_ROOT.to_owned(),
    };
    format!("<id root=\"{}\" extension=\"{}\"/>", esc(&root), esc(p.mrn))
}

fn header(d: &CcdInput<'_>) -> String {
    let p = &d.patient;
    let (now, doc) = (
        hl7_instant(d.created_at),
        esc(&d.document_id.trim().to_ascii_uppercase()),
    );
    let gender = match p.sex {
        Some("female") => "code=\"F\" codeSystem=\"2.16.840.1.113883.5.1\" displayName=\"Female\"",
        Some("male") => "code=\"M\" codeSystem=\"2.16.840.1.113883.5.1\" displayName=\"Male\"",
        Some("other") => {
            "code=\"UN\" codeSystem=\"2.16.840.1.113883.5.1\" displayName=\"Undifferentiated\""
        }
        // "Unknown" is not a gender code; HL7 says it with a null flavor.
        _ => "nullFlavor=\"UNK\"",
    };
    let (pid, given, family) = (patient_id(p), esc(p.given), esc(p.family));
    let birth = ts(hl7_date(Some(p.birth_date)));
    let (from, to) = (ts(hl7_date(d.from)), ts(hl7_date(d.to)));
    let clinic = esc(d.clinic_name);
    let org = format!(
        "<id nullFlavor=\"NI\"/><name>{clinic}</name><telecom nullFlavor=\"UNK\"/><addr nullFlavor=\"UNK\"/>"
    );
    let mut out = String::with_capacity(32 * 1024);
    put!(
        out,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ClinicalDocument xmlns=\"urn:hl7-org:v3\" \
         xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns:sdtc=\"urn:hl7-org:sdtc\">\n\
         <realmCode code=\"US\"/>\n<typeId root=\"2.16.840.1.113883.1.3\" extension=\"POCD_HD000040\"/>\n\
         <templateId root=\"{T}.1.1\" extension=\"2015-08-01\"/>\n<templateId root=\"{T}.1.1\"/>\n\
         <templateId root=\"{T}.1.2\" extension=\"2015-08-01\"/>\n<templateId root=\"{T}.1.2\"/>\n\
         <id root=\"{doc}\"/>\n<code code=\"34133-9\" codeSystem=\"{LOINC}\" codeSystemName=\"LOINC\" \
         displayName=\"Summarization of Episode Note\"/>\n<title>Continuity of Care Document</title>\n\
         <effectiveTime value=\"{now}\"/>\n<confidentialityCode code=\"N\" \
         codeSystem=\"2.16.840.1.113883.5.25\" displayName=\"normal\"/>\n<languageCode code=\"en-US\"/>\n\
         <recordTarget><patientRole>{pid}\n<addr nullFlavor=\"UNK\"/><telecom nullFlavor=\"UNK\"/>\n\
         <patient><name><given>{given}</given><family>{family}</family></name>\n\
         <administrativeGenderCode {gender}/><birthTime {birth}/>\n<raceCode nullFlavor=\"UNK\"/>\
         <ethnicGroupCode nullFlavor=\"UNK\"/>\n</patient></patientRole></recordTarget>\n\
         <author><time value=\"{now}\"/><assignedAuthor><id nullFlavor=\"NI\"/>\
         <addr nullFlavor=\"UNK\"/><telecom nullFlavor=\"UNK\"/>\n<assignedAuthoringDevice>\
         <manufacturerModelName>{SOFTWARE}</manufacturerModelName><softwareName>{SOFTWARE}\
         </softwareName></assignedAuthoringDevice>\n<representedOrganization>{org}\
         </representedOrganization></assignedAuthor></author>\n<custodian><assignedCustodian>\
         <representedCustodianOrganization>{org}</representedCustodianOrganization>\
         </assignedCustodian></custodian>\n<documentationOf><serviceEvent classCode=\"PCPR\">\
         <effectiveTime><low {from}/><high {to}/></effectiveTime></serviceEvent></documentationOf>\n"
    );
    out
}

/// The sections in document order: the seven entries-required templates, then the Social
/// History section the CCD also requires (the portal holds none, so it stays empty).
#[rustfmt::skip]
const SECTIONS: [Meta; 8] = [
    ("2.6.1", "2015-08-01", "48765-2", "Allergies and adverse reactions Document",
        "Allergies and adverse reactions", &["Substance", "Reaction", "Criticality", "Status", "Recorded"]),
    ("2.1.1", "2014-06-09", "10160-0", "History of Medication use Narrative", "Medications",
        &["Medication", "Instructions", "Status", "Prescribed"]),
    ("2.5.1", "2015-08-01", "11450-4", "Problem list - Reported", "Problem list",
        &["Problem", "Status", "Since"]),
    ("2.3.1", "2015-08-01", "30954-2", "Relevant diagnostic tests/laboratory data Narrative", "Results",
        &["Test", "Result", "Reference range", "Interpretation", "Collected", "Report"]),
    ("2.4.1", "2015-08-01", "8716-3", "Vital signs", "Vital signs", &["Vital sign", "Value", "Date"]),
    ("2.2.1", "2015-08-01", "11369-6", "History of Immunization Narrative", "Immunizations",
        &["Vaccine", "Date", "Dose", "Lot", "Given by", "Status"]),
    ("2.22.1", "2015-08-01", "46240-8", "History of Hospitalizations+Outpatient visits Narrative",
        "Encounters", &["Visit", "Date", "Clinician", "Location", "Reason", "Diagnoses"]),
    ("2.17", "2015-08-01", "29762-2", "Social history Narrative", "Social history", &[]),
];

/// The whole CCD. The same input gives the same bytes: nothing here reads the clock or a random
/// source, and entry ids derive from the record's own ids.
pub fn ccd_xml(input: &CcdInput<'_>) -> String {
    let mut out = header(input);
    out.push_str("<component><structuredBody>\n");
    let built = [
        allergies(input.allergies),
        medications(input.medications),
        problems(input.problems),
        results(input.results),
        vitals(input.vitals),
        immunizations(input.immunizations),
        encounters(input.visits),
        (Vec::new(), String::new()),
    ];
    for (meta, b) in SECTIONS.iter().zip(built) {
        write_section(&mut out, meta, b);
    }
    out.push_str("</structuredBody></component>\n</ClinicalDocument>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{from_value, json};

    /// One item of each kind, built from the views' JSON; allergies are left empty on purpose.
    fn sample() -> String {
        let problems: Vec<ProblemView> =
            from_value(json!([{ "id": "p1", "name": "Type 2 diabetes",
            "code": "44054006", "code_system": "http://snomed.info/sct", "status": "Active",
            "onset": "3 March 2020", "onset_date": "2020-03-03" }]))
            .unwrap();
        let medications: Vec<MedicationView> = from_value(json!([{ "id": "m1",
            "name": "Vitamin D <1000 IU> & calcium", "rxnorm": "316965", "status": "Active",
            "active": true, "dosage": "1 tablet daily", "prescribed": "1 May 2026",
            "prescribed_date": "2026-05-01" }]))
        .unwrap();
        let immunizations: Vec<ImmunizationView> = from_value(json!([{ "id": "i1",
            "name": "Influenza", "cvx": "141", "date": "2025-10-02", "date_label": "2 October 2025",
            "dose": null, "dose_number": "1 of 1", "lot": "AB12", "site": null, "performer": null,
            "status": "Completed" }]))
        .unwrap();
        let results: Vec<ResultDay> = from_value(json!([{ "date": "2026-09-15",
            "label": "15 September 2026", "reports": [{ "id": "r1", "name": "Basic metabolic panel",
            "collected_at": "2026-09-15T08:30:00Z", "issued_at": null, "rows": [{ "id": "o1",
            "name": "Potassium", "loinc": "2823-3", "value": "5.4", "unit": "mmol/L",
            "range": "3.5–5.1 mmol/L", "flag": "High" }] }] }]))
        .unwrap();
        let vitals: Vec<VitalView> = from_value(json!([{ "id": "v1", "name": "Blood pressure",
            "loinc": "85354-9", "value": "124/78 mm[Hg]", "date_label": "15 September 2026",
            "date": "2026-09-15" }]))
        .unwrap();
        let visits: Vec<VisitView> = from_value(json!([{ "id": "e1",
            "date_label": "15 September 2026", "date": "2026-09-15", "kind": "Office visit",
            "status": "Finished", "clinician": "Dr. Rivera", "location": "Main St clinic",
            "reason": "Follow-up", "diagnoses": [], "medications_started": [],
            "medications_stopped": [], "instructions": [], "notes": [] }]))
        .unwrap();
        let patient = CcdPatient {
            given: "Ana",
            family: "O'Neil",
            birth_date: "1980-02-29",
            sex: Some("female"),
            mrn: "MRN-1",
            mrn_system: Some("urn:uuid:6f2a0b8e-1c1d-4c53-9a55-0d3f1e2a7b90"),
        };
        ccd_xml(&CcdInput {
            patient,
            clinic_name: "Riverside Clinic",
            document_id: "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
            created_at: time::macros::datetime!(2026-09-16 10:20:30 UTC),
            from: Some("2026-01-01"),
            to: None,
            problems: &problems,
            medications: &medications,
            allergies: &[],
            immunizations: &immunizations,
            results: &results,
            vitals: &vitals,
            visits: &visits,
        })
    }

    /// Every element opened is closed, in order, and there is exactly one root.
    fn well_formed(xml: &str) -> Result<(), String> {
        let (mut stack, mut roots, mut rest) = (Vec::new(), 0, xml);
        while let Some(at) = rest.find('<') {
            let end = rest[at..].find('>').ok_or("unclosed tag")? + at;
            let tag = &rest[at + 1..end];
            rest = &rest[end + 1..];
            if tag.starts_with(['?', '!']) {
                continue;
            }
            if let Some(name) = tag.strip_prefix('/') {
                match stack.pop() {
                    Some(open) if open == name.trim() => continue,
                    open => return Err(format!("<{open:?}> closed by </{name}>")),
                }
            }
            roots += usize::from(stack.is_empty());
            if !tag.ends_with('/') {
                stack.push(tag.split([' ', '\n', '/']).next().unwrap_or(""));
            }
        }
        match (stack.last(), roots) {
            (Some(open), _) => Err(format!("<{open}> never closed")),
            (None, 1) => Ok(()),
            (None, n) => Err(format!("{n} root elements")),
        }
    }

    #[test]
    fn the_ccd_has_its_header_sections_and_escaping() {
        let xml = sample();
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ClinicalDocument "));
        for t in [
            "1.1\" extension=\"2015-08-01\"",
            "1.1\"",
            "1.2\" extension=\"2015-08-01\"",
            "1.2\"",
        ] {
            assert!(
                xml.contains(&format!("<templateId root=\"{T}.{t}/>")),
                "header {t}"
            );
        }
        for (template, ext, ..) in &SECTIONS[..7] {
            let tag = format!("<templateId root=\"{T}.{template}\" extension=\"{ext}\"/>");
            assert_eq!(xml.matches(&tag).count(), 1, "section {template}");
        }
        assert!(xml.contains("Vitamin D &lt;1000 IU&gt; &amp; calcium"));
        assert!(!xml.contains("<1000 IU>"));
        assert!(xml.contains("<family>O&apos;Neil</family>"));
        let allergies = format!("<section nullFlavor=\"NI\">\n<templateId root=\"{T}.2.6.1\"");
        assert!(xml.contains(&allergies));
        assert_eq!(
            xml.matches("<section nullFlavor").count(),
            1,
            "only the empty section is NI"
        );
        well_formed(&xml).unwrap();
        assert_eq!(xml, sample(), "same input, same document");
    }

    #[test]
    fn values_dates_and_ids_are_in_hl7_form() {
        let xml = sample();
        assert!(
            xml.contains("<id root=\"6F2A0B8E-1C1D-4C53-9A55-0D3F1E2A7B90\" extension=\"MRN-1\"/>")
        );
        assert!(xml.contains("<birthTime value=\"19800229\"/>"));
        assert!(xml.contains("<effectiveTime value=\"20260916102030+0000\"/>"));
        assert!(xml.contains("<low value=\"20260101\"/><high nullFlavor=\"UNK\"/>"));
        assert!(xml.contains("<value xsi:type=\"PQ\" value=\"5.4\" unit=\"mmol/L\"/>"));
        assert!(
            xml.contains(
                "<low value=\"3.5\" unit=\"mmol/L\"/><high value=\"5.1\" unit=\"mmol/L\"/>"
            )
        );
        assert!(xml.contains("<interpretationCode code=\"H\""));
        assert!(xml.contains("code=\"8480-6\"") && xml.contains("code=\"8462-4\""));
        assert!(xml.contains("<value xsi:type=\"PQ\" value=\"124\" unit=\"mm[Hg]\"/>"));
        assert!(xml.contains("<lotNumberText>AB12</lotNumberText>"));
        assert_ne!(uid("problem", "p1"), uid("problem-concern", "p1"));
        assert_eq!(uid("x", "y").as_bytes()[14], b'8', "version 8");
    }

    #[test]
    fn the_helpers_reject_what_they_should() {
        assert!(well_formed("<a><b/><c x=\"1\">t</c></a>").is_ok());
        assert!(well_formed("<a><b></a></b>").is_err());
        assert!(well_formed("<a>").is_err());
        assert!(well_formed("<a/><b/>").is_err());
        assert_eq!(esc("a\u{1}<\"'&>"), "a&lt;&quot;&apos;&amp;&gt;");
        assert_eq!(hl7_date(Some("2026-13-40")), None);
        assert!(matches!(
            vital_value("98.6 [degF]"),
            Vital::Quantity("98.6", "[degF]")
        ));
        assert!(matches!(vital_value("Normal"), Vital::Text));
        assert_eq!(bounds("-3-3"), Some((Some("-3"), Some("3"))));
        assert_eq!(bounds("≤ 1.2"), Some((None, Some("1.2"))));
        assert!(
            reference_range("Negative", None).contains("<value xsi:type=\"ST\">Negative</value>")
        );
    }
}
