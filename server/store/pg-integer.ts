/** The largest value a Postgres `integer` column holds: a larger number sent for one is a query error, not a miss. */
export const PG_INTEGER_MAX = 2_147_483_647;
