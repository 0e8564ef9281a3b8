-- Progression-free survival per patient: index -> first PD assessed after index, or death,
-- whichever comes first. Without either, censored at the last tumour assessment after index
-- (day 0 when there is none), never later than last follow-up. ``assessed``: has an assessment
-- after index.
WITH ta AS (
    SELECT rid, first_pd, last_assessment FROM {assessments}
), per AS (
    SELECT c.patient_id, c.rowid AS rid, c.index_date, ta.first_pd, ta.last_assessment, p.death_date,
           p.last_followup_date,
           least(ta.first_pd, p.death_date) AS event_date
    FROM {cohort} c JOIN patients p USING (patient_id) LEFT JOIN ta ON ta.rid = c.rowid
)
SELECT patient_id, rid, time_days, event, assessed
FROM (
    SELECT patient_id, rid, last_assessment IS NOT NULL AS assessed,
           CAST(date_diff('day', index_date,
                CASE WHEN event_date IS NOT NULL THEN event_date
                     ELSE least(coalesce(last_assessment, index_date),
                                coalesce(last_followup_date, index_date)) END) AS INTEGER)
               AS time_days,
           event_date IS NOT NULL AS event
    FROM per
)
WHERE time_days >= 0
