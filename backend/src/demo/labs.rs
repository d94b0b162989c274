//! A long synthetic lab history for one patient (years of a chronic condition), for the tests
//! and the benchmark of lists whose cost must not grow with the record.

use serde_json::{Value, json};

/// A FHIR transaction Bundle of `reports` lab reports for the patient with this MRN, one a
/// day from `first` at 08:00 UTC, each with `per_report` glucose results listed in the
/// reverse of their ids' order (so the lab's order and the ids' order differ). `tag` keeps
/// the ids of two histories apart.
pub fn lab_history(
    mrn: &str,
    tag: &str,
    first: time::Date,
    reports: usize,
    per_report: usize,
) -> Value {
    let subject = json!({ "identifier": { "value": mrn } });
    let mut entries = Vec::with_capacity(reports * (per_report + 1));
    for i in 0..reports {
        let day = first + time::Duration::days(i as i64);
        let at = format!("{}T08:00:00Z", domain::person::format_iso_date(day));
        let ids: Vec<String> = (0..per_report)
            .rev()
            .map(|j| format!("{tag}-{i}-{j:03}"))
            .collect();
        let listed: Vec<Value> = ids
            .iter()
            .map(|id| json!({ "reference": format!("Observation/{id}") }))
            .collect();
        entries.push(
            json!({ "fullUrl": format!("urn:uuid:{tag}-report-{i}"), "resource": {
                "resourceType": "DiagnosticReport", "id": format!("{tag}-report-{i}"),
                "status": "final", "code": { "text": format!("Panel {i}") }, "subject": subject,
                "effectiveDateTime": at, "issued": at, "result": listed
            }}),
        );
        for (j, id) in ids.iter().enumerate() {
            entries.push(json!({ "fullUrl": format!("urn:uuid:{id}"), "resource": {
                "resourceType": "Observation", "id": id, "status": "final",
                "category": [{ "coding": [{ "code": "laboratory" }] }],
                "code": { "coding": [{ "system": "http://loinc.org", "code": "2345-7" }],
                          "text": format!("Test {id}") },
                "subject": subject, "effectiveDateTime": at, "issued": at,
                "valueQuantity": { "value": 90 + (i + j) % 40, "unit": "mg/dL" },
                "referenceRange": [{ "low": { "value": 70 }, "high": { "value": 110 } }]
            }}));
        }
    }
    json!({ "resourceType": "Bundle", "type": "transaction", "entry": entries })
}
