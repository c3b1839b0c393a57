"""The rules as a Great Expectations suite, and GX's reading of stored results.

Imported only by the commands and tests that need GX: `import great_expectations` alone
takes about four seconds, which every nightly import would otherwise pay.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from returnwatch.transforms.profiles import TableKind
from returnwatch.transforms.rules import RULES, suite_name

if TYPE_CHECKING:
    import pandas as pd
    from great_expectations import ExpectationSuite
    from great_expectations.core import ExpectationSuiteValidationResult


def build_suite(kind: TableKind) -> ExpectationSuite:
    """The documented contract of a table: one expectation per declared rule."""
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    suite = gx.ExpectationSuite(name=suite_name(kind))
    for rule in RULES[kind]:
        suite.add_expectation_configuration(
            ExpectationConfiguration(
                type=rule.expectation,
                kwargs=rule.gx_kwargs(),
                meta={"rule": rule.name, "description": rule.description},
            )
        )
    return suite


def read_validation_result(stored: str | dict[str, Any]) -> ExpectationSuiteValidationResult:
    """A `load_batches.validation_result` as GX's own validation-result object."""
    from great_expectations.core.expectation_validation_result import (
        ExpectationSuiteValidationResultSchema,
    )

    data = json.loads(stored) if isinstance(stored, str) else stored
    return ExpectationSuiteValidationResultSchema().load(data)


def validate_dataframe(df: pd.DataFrame, kind: TableKind) -> ExpectationSuiteValidationResult:
    """Run the suite with GX's own pandas engine (the cross-check and the benchmark peer)."""
    import great_expectations as gx

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = {"globally": False}
    asset = context.data_sources.add_pandas("returnwatch").add_dataframe_asset("rows")
    batch = asset.add_batch_definition_whole_dataframe("all").get_batch(
        batch_parameters={"dataframe": df}
    )
    return batch.validate(build_suite(kind), result_format={"result_format": "COMPLETE"})
