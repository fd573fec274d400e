-- Late joiners: participants of a running season whose accounts are not yet set.
SELECT p.season_id, p.user_id
FROM season_participants AS p JOIN seasons AS s ON s.id = p.season_id
WHERE s.status = 'running' AND p.started_at IS NULL
