-- The place of a result in its report, as the lab listed it: the results list orders by it
-- instead of reading the report's stored FHIR on every request. Rows written before this
-- column are filled once at start-up (`records::fill_report_positions`).
ALTER TABLE observation ADD COLUMN report_position INTEGER;
