"""Identifier validators: real valid codes pass, each kind of corruption is named."""

import pytest

from chaintrack.identifiers import (
    IdentifierError,
    make_uscc,
    normalise,
    validate_internal_project_code,
    validate_national_project_code,
    validate_period,
    validate_region_code,
    validate_uscc,
)

VALID_USCC = ["91110000600037341L", "91512081MA62K0260E"]


@pytest.mark.parametrize("code", VALID_USCC)
def test_real_uscc_codes_are_valid(code):
    assert validate_uscc(code) == code


@pytest.mark.parametrize("first17", ["N2370100MA0000123", "A1110000123456789", "Y1371200ABCDEFGHJ"])
def test_letter_authorities_and_historical_regions_are_accepted(first17):
    code = make_uscc(first17)
    assert validate_uscc(code) == code


def test_uscc_is_normalised_from_spreadsheet_input():
    assert validate_uscc(" ９１１１００００６０００３７３４１ｌ ") == "91110000600037341L"


@pytest.mark.parametrize(
    ("code", "position", "fragment"),
    [
        ("91110000600037341X", 18, "should be 'L'"),
        ("9111000060003734IL", 17, "'I' is not allowed"),
        ("91110000600O37341L", 12, "'O' is not allowed"),
        ("X1110000600037341L", 1, "registration authority"),
        ("911A0000600037341L", 4, "region code"),
        ("91990000600037341L", 3, "province"),
    ],
)
def test_uscc_corruption_names_the_character(code, position, fragment):
    with pytest.raises(IdentifierError) as err:
        validate_uscc(code)
    assert err.value.position == position
    assert fragment in str(err.value)


@pytest.mark.parametrize("code", ["91110000600037341", "91110000600037341LL", ""])
def test_uscc_wrong_length(code):
    with pytest.raises(IdentifierError, match="18"):
        validate_uscc(code)


def test_every_single_character_substitution_is_caught():
    code = VALID_USCC[0]
    for pos in range(18):
        for ch in "0123456789ABCDEFGHJKLMNPQRTUWXY":
            if ch == code[pos]:
                continue
            corrupted = code[:pos] + ch + code[pos + 1 :]
            with pytest.raises(IdentifierError):
                validate_uscc(corrupted)


def test_region_codes():
    assert validate_region_code("370600") == "370600"
    assert validate_region_code("371202") == "371202"  # 莱芜 districts, historical
    with pytest.raises(IdentifierError, match="6"):
        validate_region_code("37060")
    with pytest.raises(IdentifierError, match="province"):
        validate_region_code("990000")


def test_national_project_code():
    assert validate_national_project_code("2104-370600-04-01-a1b2c3") == "2104-370600-04-01-A1B2C3"
    cases = {
        "2104-370600-04-01-A1B2C": "24",
        "2104-3706X0-04-01-A1B2C3": "region code",
        "2104-370600-0A-01-A1B2C3": "supervising department",
        "2104-370600-04-1X-A1B2C3": "project type",
        "2104-370600-04-01-A1B2C!": "serial",
        "2104-990600-04-01-A1B2C3": "province",
        "1713-370600-04-01-A1B2C3": "YYMM",
    }
    for code, fragment in cases.items():
        with pytest.raises(IdentifierError, match=fragment):
            validate_national_project_code(code)


def test_internal_project_code_and_period():
    assert validate_internal_project_code("gdhg-2025-001") == "GDHG-2025-001"
    with pytest.raises(IdentifierError):
        validate_internal_project_code("有中文")
    assert validate_period("2025-03") == "2025-03"
    for bad in ("2025-13", "2025-3", "25-03", "1999-12"):
        with pytest.raises(IdentifierError):
            validate_period(bad)


def test_normalise_full_width():
    assert normalise("　ＡＢ１２　") == "AB12"
