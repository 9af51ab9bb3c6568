"""Plain-language descriptions of the AIF360 data sets' features, attached by
:func:`ai4media_ext.data.load_aif360` to ``dataset.metadata`` (``feature_descriptions``,
``category_descriptions``) so a report can say "duration of the credit (months)" to the public
instead of ``month``, and "no checking account" instead of ``status=A14``.

Sources: the data sets' own documentation (UCI ``german.doc``, ``adult.names``,
``bank-additional-names.txt``, ProPublica's COMPAS analysis, AHRQ MEPS HC-181 codebook).
"""

from __future__ import annotations

FEATURE_DESCRIPTIONS: dict[str, dict[str, str]] = {
    "adult": {
        "age": "age (years)", "education-num": "years of education",
        "capital-gain": "capital gains (USD)", "capital-loss": "capital losses (USD)",
        "hours-per-week": "hours worked per week", "workclass": "type of employer",
        "education": "highest education", "marital-status": "marital status",
        "occupation": "occupation", "relationship": "role in the household",
        "native-country": "country of birth", "race": "ethnic group", "sex": "sex",
    },
    "german": {
        "month": "duration of the credit (months)", "credit_amount": "credit amount (DM)",
        "investment_as_income_percentage": "instalment as a share of disposable income",
        "residence_since": "years at the present residence", "age": "age group",
        "number_of_credits": "number of credits at this bank",
        "people_liable_for": "number of dependants", "sex": "sex",
        "status": "checking account balance", "credit_history": "credit history",
        "purpose": "purpose of the credit", "savings": "savings",
        "employment": "time in present employment", "other_debtors": "other debtors or guarantors",
        "property": "most valuable property", "installment_plans": "other instalment plans",
        "housing": "housing", "skill_level": "job", "telephone": "telephone",
        "foreign_worker": "foreign worker",
    },
    "bank": {
        "age": "age group", "job": "occupation", "marital": "marital status",
        "education": "education", "default": "has credit in default",
        "housing": "has a housing loan", "loan": "has a personal loan",
        "contact": "contact by", "month": "month of the last contact",
        "duration": "duration of the last call (seconds)",
        "day_of_week": "weekday of the last contact",
        "campaign": "contacts during this campaign",
        "pdays": "days since a contact in an earlier campaign",
        "previous": "contacts before this campaign", "poutcome": "outcome of the earlier campaign",
        "emp.var.rate": "employment variation rate", "cons.price.idx": "consumer price index",
        "cons.conf.idx": "consumer confidence index", "euribor3m": "3-month Euribor rate",
        "nr.employed": "number of employees (thousands)",
    },
    "compas": {
        "sex": "sex", "age": "age (years)", "age_cat": "age group", "race": "ethnic group",
        "juv_fel_count": "number of juvenile felonies",
        "juv_misd_count": "number of juvenile misdemeanours",
        "juv_other_count": "number of other juvenile offences",
        "priors_count": "number of prior offences", "c_charge_degree": "degree of the charge",
        "c_charge_desc": "charge",
    },
    "meps": {
        "REGION": "region", "AGE": "age (years)", "SEX": "sex", "RACE": "ethnic group",
        "MARRY": "marital status", "PCS42": "physical health score",
        "MCS42": "mental health score", "K6SUM42": "psychological distress score",
        "POVCAT": "family income category", "INSCOV": "health insurance coverage",
        "EMPST": "employment status",
    },
}  # fmt: skip

CATEGORY_DESCRIPTIONS: dict[str, dict[str, dict[str, str]]] = {
    "german": {
        "status": {"A11": "below 0 DM", "A12": "0 to 200 DM", "A13": "200 DM or more",
                   "A14": "no checking account"},
        "credit_history": {"A30": "no credits taken, or all paid back duly",
                           "A31": "all credits at this bank paid back duly",
                           "A32": "existing credits paid back duly so far",
                           "A33": "delays in paying off in the past",
                           "A34": "critical account or credits at other banks"},
        "purpose": {"A40": "new car", "A41": "used car", "A42": "furniture or equipment",
                    "A43": "radio or television", "A44": "domestic appliances",
                    "A45": "repairs", "A46": "education", "A47": "vacation",
                    "A48": "retraining", "A49": "business", "A410": "other"},
        "savings": {"A61": "below 100 DM", "A62": "100 to 500 DM", "A63": "500 to 1000 DM",
                    "A64": "1000 DM or more", "A65": "unknown or none"},
        "employment": {"A71": "unemployed", "A72": "less than 1 year", "A73": "1 to 4 years",
                       "A74": "4 to 7 years", "A75": "7 years or more"},
        "other_debtors": {"A101": "none", "A102": "co-applicant", "A103": "guarantor"},
        "property": {"A121": "real estate", "A122": "savings agreement or life insurance",
                     "A123": "car or other", "A124": "unknown or none"},
        "installment_plans": {"A141": "at a bank", "A142": "at stores", "A143": "none"},
        "housing": {"A151": "rents", "A152": "owns", "A153": "lives for free"},
        "skill_level": {"A171": "unskilled, non-resident", "A172": "unskilled, resident",
                        "A173": "skilled employee or official",
                        "A174": "management, self-employed or highly qualified"},
        "telephone": {"A191": "none", "A192": "yes, in the customer's name"},
        "foreign_worker": {"A201": "yes", "A202": "no"},
    },
    "compas": {"c_charge_degree": {"F": "felony", "M": "misdemeanour"}},
}  # fmt: skip

#: display names AIF360 does not ship (its BankDataset has no metadata): used only when the
#: caller keeps AIF360's default protected attribute, privileged classes and metadata
DEFAULT_MAPS: dict[str, dict[str, list[dict[float, str]]]] = {
    "bank": {
        "label_maps": [{1.0: "yes", 0.0: "no"}],
        "protected_attribute_maps": [{1.0: "aged 25 to 59", 0.0: "under 25 or 60 and over"}],
    },
}
