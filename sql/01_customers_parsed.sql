-- customers_parsed: one row per row of the customers export, values typed (NULL where
-- the text does not parse; 11_customer_problems says why) and the policy chosen (SPEC §3.3).
-- A customer with no language takes the language of its country ([input.customers]
-- language_by_country: $language_countries -> $country_languages), else [run] default_language.
-- With [input.customers] missing = "create" ($create_customers), each customer id the items
-- name that the file lacks is a customer of its own: name = the id, no address, no country,
-- the default language and the default delivery; it has no row in the file (_row NULL),
-- which is how the later stages and run.json (customers_created) tell it.
-- letter_currency (SPEC §11.1): the customer's letter currency, a known ISO 4217 code (NULL
-- where it is empty or unknown; 11_customer_problems says why), read by policies with
-- letter_currency = "customer".
-- Inputs: raw_customers (all text), raw_open_items (customer ids), cfg_policies, cfg_policy_classes,
-- cfg_currencies.
WITH
customer_rows AS (
    SELECT _row, customer_id, name, address, country, language, email, customer_class, policy,
           dunning_blocked, grace_until, interest_rate, delivery, postal_code,
           contact_name, contact_email, sales_rep,   -- SPEC §11.2
           letter_currency                           -- SPEC §11.1
    FROM raw_customers
    UNION ALL
    SELECT DISTINCT NULL::BIGINT, blank(i.customer_id), blank(i.customer_id), NULL, NULL, NULL, NULL, NULL, NULL,
           NULL, NULL, NULL, NULL, NULL,
           NULL, NULL, NULL,
           NULL
    FROM raw_open_items AS i
    WHERE $create_customers AND blank(i.customer_id) IS NOT NULL
      AND blank(i.customer_id) NOT IN (SELECT blank(c.customer_id) FROM raw_customers AS c
                                       WHERE blank(c.customer_id) IS NOT NULL)
),
parsed AS (
    SELECT
        _row,
        blank(customer_id)                              AS customer_id,
        blank(name)                                     AS name,
        blank(address)                                  AS address,
        upper(blank(country))                           AS country,
        coalesce(lower(blank(language)),
                 $country_languages[list_position($language_countries, upper(blank(country)))],
                 $default_language)                     AS language,
        blank(email)                                    AS email,
        blank(customer_class)                           AS customer_class,
        blank(policy)                                   AS policy_named,
        coalesce(parse_bool(dunning_blocked), false)    AS dunning_blocked,
        parse_date(grace_until, $customers_date_format) AS grace_until,
        parse_rate(interest_rate, $customers_decimal_comma) AS rate_given,   -- checked in 11_customer_problems
        -- SPEC §10.1: email when the customer has an address (its own or its contact's, §11.2), else print
        coalesce(lower(blank(delivery)),
                 CASE WHEN coalesce(blank(contact_email), blank(email)) IS NOT NULL THEN 'email' ELSE 'print' END)
                                                        AS delivery,
        blank(postal_code)                              AS postal_code,
        -- SPEC §11.2: the person the letter is for (its attention line), whose address
        -- replaces `email` as the recipient, and the key of the [sales_rep.ID] the letter names
        blank(contact_name)                             AS contact_name,
        blank(contact_email)                            AS contact_email,
        blank(sales_rep)                                AS sales_rep,
        (SELECT cur.currency FROM cfg_currencies AS cur
         WHERE cur.currency = upper(blank(letter_currency))) AS letter_currency   -- SPEC §11.1
    FROM customer_rows
)
SELECT
    parsed.* EXCLUDE (rate_given),
    -- the rate used: a percent from 0 to 100 (DECIMAL(18,6)); any other is a problem of 03
    CASE WHEN rate_given BETWEEN 0 AND 100 THEN CAST(rate_given AS DECIMAL(18, 6)) END AS interest_rate,
    rate_given,
    -- explicit policy -> the policy holding the class -> the default policy -> none
    CASE WHEN policy_named IS NOT NULL THEN named.policy
         ELSE coalesce(by_class.policy, (SELECT policy FROM cfg_policies WHERE is_default))
    END AS policy
FROM parsed
LEFT JOIN cfg_policies AS named ON named.policy = parsed.policy_named
LEFT JOIN cfg_policy_classes AS by_class ON by_class.customer_class = parsed.customer_class
