-- customer_problems: every problem of a customers row but its id (10_id_problems): values
-- that do not parse, an unknown policy, an email delivery cannot use, a print channel without
-- a postal address (a letter with an empty window), unsafe or too long text (SPEC §2.2, §2.3,
-- §10.1); a contact's email delivery cannot use, a sales rep the config does not define, an
-- attention line that pushes the address out of the window (§11.2); a letter currency that is
-- no currency code (§11.1).
-- Grain: (source, _row, column_name, kind, message), source
-- 'customers'. Inputs: customers_parsed, raw_customers (the values as exported),
-- address_checks (each distinct email field, judged in Python), cfg_sales_reps.
WITH
c AS MATERIALIZED (
    SELECT p.*, CAST(r.dunning_blocked AS VARCHAR) AS t_blocked, CAST(r.grace_until AS VARCHAR) AS t_grace,
           CAST(r.interest_rate AS VARCHAR) AS t_rate, CAST(r.country AS VARCHAR) AS t_country,
           CAST(r.language AS VARCHAR) AS t_language, CAST(r.letter_currency AS VARCHAR) AS t_letter_currency
    FROM customers_parsed AS p JOIN raw_customers AS r USING (_row)
)
SELECT 'customers' AS source, _row, 'name' AS column_name,
       CASE WHEN name IS NULL THEN 'empty' ELSE 'null_word' END AS kind,
       CASE WHEN name IS NULL THEN 'is empty; every customer needs a name' ELSE not_a(name, 'a name') END AS message
FROM c WHERE name IS NULL OR is_null_word(name)
UNION ALL
SELECT 'customers', _row, 'dunning_blocked', not_a_kind(t_blocked, 'not_bool'), not_a(t_blocked, 'true or false')
FROM c WHERE blank(t_blocked) IS NOT NULL AND parse_bool(t_blocked) IS NULL
UNION ALL
SELECT 'customers', _row, 'grace_until', not_a_kind(t_grace, 'not_date'), not_a(t_grace, 'a date in the format ' || $customers_date_format)
FROM c WHERE blank(t_grace) IS NOT NULL AND grace_until IS NULL
UNION ALL
SELECT 'customers', _row, 'grace_until', 'implausible_date', implausible_message(t_grace, grace_until, $as_of::DATE, $plausible_years)
FROM c WHERE implausible(grace_until, $plausible_from, $plausible_to)
UNION ALL
SELECT 'customers', _row, 'interest_rate',
       CASE WHEN rate_given IS NOT NULL THEN 'rate_range' ELSE not_a_kind(t_rate, 'not_rate') END,
       CASE WHEN rate_given IS NOT NULL THEN 'must be a percent from 0 to 100, not ' || blank(t_rate)
            ELSE not_a(t_rate, 'a percent rate (a plain decimal, at most 6 decimals)') END
FROM c WHERE blank(t_rate) IS NOT NULL AND interest_rate IS NULL
UNION ALL
SELECT 'customers', _row, 'country', not_a_kind(t_country, 'not_country'), not_a(t_country, 'an ISO 3166-1 alpha-2 country code')
FROM c WHERE country IS NOT NULL AND NOT regexp_full_match(country, '[A-Z]{2}')
UNION ALL
SELECT 'customers', _row, 'language', not_a_kind(t_language, 'not_language'), not_a(t_language, 'a language code such as en, de, fr or pl')
FROM c WHERE NOT regexp_full_match(language, '[a-z]{2,3}([_-][a-z]{2})?')
UNION ALL
-- SPEC §11.1: the letter currency of a policy with letter_currency = "customer"
SELECT 'customers', _row, 'letter_currency', not_a_kind(t_letter_currency, 'not_currency'),
       not_a(t_letter_currency, 'a known ISO 4217 currency code')
FROM c WHERE blank(t_letter_currency) IS NOT NULL AND letter_currency IS NULL
UNION ALL
SELECT 'customers', _row, 'delivery', not_a_kind(delivery, 'not_delivery'), not_a(delivery, 'a delivery channel (email, print or both)')
FROM c WHERE delivery NOT IN ('email', 'print', 'both')
UNION ALL
SELECT 'customers', c._row, 'email',
       -- each reason its own kind, whatever the quoted domain it names
       CASE WHEN c.email IS NULL THEN 'email_missing'
            ELSE 'email: ' || regexp_replace(a.problem, '''[^'']*''', '''...''', 'g') END,
       CASE WHEN c.email IS NULL THEN 'is empty, but delivery ''' || c.delivery || ''' needs an email address'
            ELSE '''' || c.email || ''' is not a well-formed email address: ' || a.problem
                 || '; give plain addresses local@domain, several separated by ;' END
FROM c LEFT JOIN address_checks AS a USING (email)  -- judged by delivery's own parser (addresses.py)
-- SPEC §11.2: a contact's email is the recipient in its place
WHERE c.delivery IN ('email', 'both') AND ((c.email IS NULL AND c.contact_email IS NULL) OR a.problem IS NOT NULL)
UNION ALL
-- SPEC §11.2: the contact's email replaces `email` as the recipient: judged by the same parser
SELECT 'customers', c._row, 'contact_email',
       'contact_email: ' || regexp_replace(a.problem, '''[^'']*''', '''...''', 'g'),
       '''' || c.contact_email || ''' is not a well-formed email address: ' || a.problem
       || '; give plain addresses local@domain, several separated by ;'
FROM c JOIN address_checks AS a ON a.email = c.contact_email
WHERE c.delivery IN ('email', 'both') AND a.problem IS NOT NULL
UNION ALL
-- SPEC §10.1: a letter for the post needs the address its window shows (line breaks alone are
-- no address). Customers that [input.customers] missing = "create" made (_row NULL) have no
-- row to name: they are not judged here.
SELECT 'customers', _row, 'address', 'address_missing',
       'is empty, but delivery ''' || delivery || ''' sends the letter by post; give the postal address '
       || '(its lines separated by line breaks), or an email address with delivery email'
FROM c
WHERE _row IS NOT NULL AND delivery IN ('print', 'both')
  AND blank(regexp_replace(address, '[\r\n]', '', 'g')) IS NULL
UNION ALL
-- text holding control characters, ids and codes also invisible format characters
-- (00_macros.sql); an address that goes out is judged above
SELECT 'customers', _row, col, 'unsafe_char',
       CASE WHEN col IN ('name', 'address', 'email', 'contact_name', 'contact_email') THEN unsafe_text(t, checked)
            ELSE unsafe_id_text(t) END
FROM (SELECT _row, 'customer_id' AS col, customer_id AS t, customer_id AS checked FROM c
      UNION ALL SELECT _row, 'name', name, without_line_breaks(name) FROM c
      UNION ALL SELECT _row, 'address', address, without_line_breaks(address) FROM c
      UNION ALL SELECT _row, 'customer_class', customer_class, customer_class FROM c
      UNION ALL SELECT _row, 'policy', policy_named, policy_named FROM c
      UNION ALL SELECT _row, 'postal_code', postal_code, postal_code FROM c
      UNION ALL SELECT _row, 'email', email, email FROM c WHERE delivery NOT IN ('email', 'both')
      -- SPEC §11.2: the attention line is one line of the window, the rep's key an id
      UNION ALL SELECT _row, 'contact_name', contact_name, contact_name FROM c
      UNION ALL SELECT _row, 'contact_email', contact_email, contact_email FROM c WHERE delivery NOT IN ('email', 'both')
      UNION ALL SELECT _row, 'sales_rep', sales_rep, sales_rep FROM c)
WHERE CASE WHEN col IN ('name', 'address', 'email', 'contact_name', 'contact_email') THEN has_unsafe_char(checked)
           ELSE has_unsafe_id_char(checked) END
UNION ALL
SELECT 'customers', _row, 'policy', 'unknown_policy',
       'names policy ''' || policy_named || ''', which the config does not define'
FROM c WHERE policy_named IS NOT NULL AND policy IS NULL
UNION ALL
-- SPEC §11.2: the rep a customer names must be a [sales_rep.ID] table of the config
SELECT 'customers', _row, 'sales_rep', 'unknown_sales_rep',
       'names the sales rep ''' || sales_rep || ''', which the config does not define; add a [sales_rep.'
       -- the ID as a TOML key: bare when it may be, else quoted ([sales_rep."j r"])
       || CASE WHEN regexp_full_match(sales_rep, '[A-Za-z0-9_-]+') THEN sales_rep
               ELSE '"' || replace(replace(sales_rep, '\', '\\'), '"', '\"') || '"' END
       || '] table with its name and email to the config, or name one of its [sales_rep.ID] tables'
       || coalesce(' (' || (SELECT string_agg(rep_id, ', ' ORDER BY rep_id) FROM cfg_sales_reps) || ')', '')
FROM c WHERE sales_rep IS NOT NULL AND NOT has_unsafe_id_char(sales_rep) AND NOT too_long(sales_rep)
  AND sales_rep NOT IN (SELECT rep_id FROM cfg_sales_reps)
UNION ALL
-- SPEC §11.2: the window holds 6 lines (templates/letter.css): the name, the attention line
-- under it and the address; a trailing line break makes no line
SELECT 'customers', _row, 'contact_name', 'window_lines',
       'the attention line makes the window''s address ' || lines
       || ' lines (name, attention line, address), more than the 6 it holds; shorten the address or the name, '
       || 'or leave contact_name empty'
FROM (SELECT _row, len(string_split(rtrim(name, chr(13) || chr(10)), chr(10))) + 1
                   + coalesce(len(string_split(rtrim(address, chr(13) || chr(10)), chr(10))), 0) AS lines
      FROM c WHERE contact_name IS NOT NULL AND name IS NOT NULL)
WHERE lines > 6
UNION ALL
SELECT 'customers', _row, col, 'too_long', too_long_message(v)
FROM (SELECT _row, 'customer_id' AS col, customer_id AS v FROM c
      UNION ALL SELECT _row, 'name', name FROM c
      UNION ALL SELECT _row, 'address', address FROM c
      UNION ALL SELECT _row, 'email', email FROM c
      UNION ALL SELECT _row, 'postal_code', postal_code FROM c
      UNION ALL SELECT _row, 'customer_class', customer_class FROM c
      UNION ALL SELECT _row, 'policy', policy_named FROM c
      UNION ALL SELECT _row, 'contact_name', contact_name FROM c     -- SPEC §11.2
      UNION ALL SELECT _row, 'contact_email', contact_email FROM c
      UNION ALL SELECT _row, 'sales_rep', sales_rep FROM c)
WHERE too_long(v)

