-- Regimen of the index line (its first treatment row on or after index - 30 days) and the
-- sorted, distinct drug classes of that line, e.g. 'anti-CTLA-4 + anti-PD-1'. The classes are
-- collected as a bit mask (cheap) and spelled out in alphabetical order; a class outside the
-- schema's domain counts as 'other'.
SELECT rid, regimen,
       concat_ws(' + ',
                 CASE WHEN classes & 1 > 0 THEN 'anti-CTLA-4' END,
                 CASE WHEN classes & 2 > 0 THEN 'anti-PD-1' END,
                 CASE WHEN classes & 4 > 0 THEN 'anti-PD-L1' END,
                 CASE WHEN classes & 8 > 0 THEN 'chemotherapy' END,
                 CASE WHEN classes & 16 > 0 THEN 'other' END,
                 CASE WHEN classes & 32 > 0 THEN 'targeted' END) AS drug_classes
FROM (
    SELECT c.rowid AS rid,
           arg_min(t.regimen, t.start_date) AS regimen,
           bit_or(CASE t.drug_class WHEN 'anti-CTLA-4' THEN 1 WHEN 'anti-PD-1' THEN 2
                                    WHEN 'anti-PD-L1' THEN 4 WHEN 'chemotherapy' THEN 8
                                    WHEN 'targeted' THEN 32 ELSE 16 END) AS classes
    FROM {cohort} c JOIN treatments t USING (patient_id)
    WHERE t.line_number = c.index_line
      AND t.start_date >= c.index_date - INTERVAL 30 DAY
    GROUP BY c.rowid
)
