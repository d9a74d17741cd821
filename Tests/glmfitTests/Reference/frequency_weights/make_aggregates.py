#!/usr/bin/env python3
"""The aggregated tables the --frequency-weights tests fit, made by DuckDB as a user would.

Run from the repository root (needs `pip install duckdb`; the tests do not):

    python3 Tests/glmfitTests/Reference/frequency_weights/make_aggregates.py

Each query groups the rows by the model's covariates and response and counts them
(`count(*) AS n`): the fit of the aggregated table with --frequency-weights n must be
the fit of the rows. esoph (MASS/datasets) is itself aggregated by case and control
counts; it is first expanded to one row per person (esoph_people.csv), which is the
row-level file a database would hold.
"""
import os

import duckdb

here = os.path.dirname(os.path.abspath(__file__))
examples = os.path.join(here, "..", "..", "..", "..", "Examples")


def write(query, name):
    path = os.path.join(here, name)
    duckdb.sql(f"COPY ({query}) TO '{path}' (HEADER, DELIMITER ',')")


# One row per person: ncases rows with case = 1 and ncontrols rows with case = 0.
write(f"""
    SELECT agegp, alcgp, tobgp, 1 AS "case"
    FROM read_csv('{examples}/esoph.csv'), range(ncases)
    UNION ALL
    SELECT agegp, alcgp, tobgp, 0 AS "case"
    FROM read_csv('{examples}/esoph.csv'), range(ncontrols)
    ORDER BY agegp, alcgp, tobgp, "case"
""", "esoph_people.csv")

write(f"""
    SELECT agegp, alcgp, tobgp, "case", count(*) AS n
    FROM read_csv('{here}/esoph_people.csv')
    GROUP BY agegp, alcgp, tobgp, "case"
    ORDER BY agegp, alcgp, tobgp, "case"
""", "esoph_aggregated.csv")

write(f"""
    SELECT wool, tension, breaks, count(*) AS n
    FROM read_csv('{examples}/warpbreaks.csv')
    GROUP BY wool, tension, breaks
    ORDER BY wool, tension, breaks
""", "warpbreaks_aggregated.csv")

write(f"""
    SELECT spray, "count", count(*) AS n
    FROM read_csv('{examples}/insectsprays.csv')
    GROUP BY spray, "count"
    ORDER BY spray, "count"
""", "insectsprays_aggregated.csv")

write(f"""
    SELECT Eth, Sex, Age, Lrn, Days, count(*) AS n
    FROM read_csv('{examples}/quine.csv')
    GROUP BY Eth, Sex, Age, Lrn, Days
    ORDER BY Eth, Sex, Age, Lrn, Days
""", "quine_aggregated.csv")
