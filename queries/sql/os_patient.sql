-- Overall survival per patient: index -> death; alive patients censored at last follow-up.
-- Patients whose death or last follow-up lies before index (data errors) are left out.
SELECT patient_id, rid, time_days, event
FROM (
    SELECT c.patient_id, c.rowid AS rid,
           CAST(date_diff('day', c.index_date, coalesce(p.death_date, p.last_followup_date))
                AS INTEGER) AS time_days,
           p.death_date IS NOT NULL AS event
    FROM {cohort} c JOIN patients p USING (patient_id)
)
WHERE time_days >= 0
