-- known_letters: the letters among $letters that the run wrote (`void` refuses any other).
-- Grain: letter_id. Inputs: letters (a view of the run's folder). Parameters: $letters.
SELECT letter_id FROM letters WHERE list_contains($letters, letter_id)
