-- The diagnosis that describes each cohort patient at index: the latest diagnosis on or before
-- index + $grace days (the index event's grace window, 0 by default), else the earliest one;
-- ties as the compiler breaks them (icd10, cancer type, stage, histology).
SELECT rid, cancer_type, icd10, histology_icdo3, stage, diagnosis_date
FROM (
    SELECT c.rid AS rid, d.*,
           row_number() OVER (
               PARTITION BY c.rid
               ORDER BY (d.diagnosis_date <= c.index_date + CAST($grace AS INTEGER)) DESC,
                        CASE WHEN d.diagnosis_date <= c.index_date + CAST($grace AS INTEGER)
                             THEN d.diagnosis_date END DESC,
                        d.diagnosis_date NULLS LAST, d.icd10 NULLS LAST, d.cancer_type NULLS LAST,
                        d.stage NULLS LAST, d.histology_icdo3 NULLS LAST
           ) AS rn
    FROM {cohort} c JOIN diagnoses d USING (patient_id)
)
WHERE rn = 1
