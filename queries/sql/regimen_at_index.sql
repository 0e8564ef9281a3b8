-- Regimen of the index line (its first treatment row on or after index - 30 days) and the
-- sorted, distinct drug classes of that line, e.g. 'anti-CTLA-4 + anti-PD-1'. Each class is a
-- 0/1 flag (max over the line's rows) spelled out in alphabetical order; a class outside the
-- schema's domain counts as 'other'.
SELECT rid, regimen,
       concat_ws(' + ',
                 CASE WHEN ctla4 = 1 THEN 'anti-CTLA-4' END,
                 CASE WHEN pd1 = 1 THEN 'anti-PD-1' END,
                 CASE WHEN pdl1 = 1 THEN 'anti-PD-L1' END,
                 CASE WHEN chemo = 1 THEN 'chemotherapy' END,
                 CASE WHEN other = 1 THEN 'other' END,
                 CASE WHEN targeted = 1 THEN 'targeted' END) AS drug_classes
FROM (
    SELECT c.rid,
           min_by(t.regimen, t.start_date) AS regimen,
           max(CASE WHEN t.drug_class = 'anti-CTLA-4' THEN 1 ELSE 0 END) AS ctla4,
           max(CASE WHEN t.drug_class = 'anti-PD-1' THEN 1 ELSE 0 END) AS pd1,
           max(CASE WHEN t.drug_class = 'anti-PD-L1' THEN 1 ELSE 0 END) AS pdl1,
           max(CASE WHEN t.drug_class = 'chemotherapy' THEN 1 ELSE 0 END) AS chemo,
           max(CASE WHEN t.drug_class = 'targeted' THEN 1 ELSE 0 END) AS targeted,
           max(CASE WHEN t.drug_class IN ('anti-CTLA-4', 'anti-PD-1', 'anti-PD-L1', 'chemotherapy',
                                          'targeted') THEN 0 ELSE 1 END) AS other
    FROM {cohort} c JOIN treatments t USING (patient_id)
    WHERE t.line_number = c.index_line
      AND t.start_date >= c.index_date - 30
    GROUP BY c.rid
)
