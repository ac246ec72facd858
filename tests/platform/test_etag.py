"""If-Match as RFC 9110 says (shared/etag.py): strong comparison, `*` for any version, 428 without it."""

from __future__ import annotations

import pytest

from shared.errors import Problem
from shared.etag import check_if_match


@pytest.mark.parametrize("header", ['"3"', '"2", "3"', "*", ' "3" '])
def test_the_current_version_or_any_passes(header: str) -> None:
    check_if_match(header, 3)


@pytest.mark.parametrize("header", ['"2"', 'W/"3"', 'W/"2", W/"3"', '3', '""'])
def test_another_version_or_a_weak_tag_is_412(header: str) -> None:
    with pytest.raises(Problem) as refused:
        check_if_match(header, 3)
    assert refused.value.status == 412 and refused.value.extra["current_etag"] == '"3"'


def test_a_missing_header_is_428_when_required_and_passes_otherwise() -> None:
    for header in (None, "", "  "):
        with pytest.raises(Problem) as refused:
            check_if_match(header, 3)
        assert refused.value.status == 428
        check_if_match(header, 3, required=False)
