"""Requirement lines, markers and requirements files, read as pip and PEP 508 define them."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from dfmod.semantic.pydeps import marker_allows, parse_requirement, read_requirements

# PEP 508's own examples (its "Complete Grammar" test list), read for a Python 3.12 image.
PEP_508_NAMES = [
    ("A", "A"), ("A.B-C_D", "A.B-C_D"), ("aa", "aa"), ("name", "name"), ("name<=1", "name"),
    ("name>=3", "name"), ("name>=3,<2", "name"), ("name@http://foo.com", "name"),
    ("name [fred,bar] @ http://foo.com ; python_version=='2.7'", None),
    ("name[quux, strange];python_version<'2.7' and platform_version=='2'", None),
    ("name; os_name=='a' or os_name=='b'", None),
    ("name; os_name=='a' and os_name=='b' or os_name=='posix'", "name"),
    ("requests [security,tests] >= 2.8.1, == 2.8.* ; python_version < \"2.7\"", None),
    ("argparse;python_version<'2.7'", None),
]


@pytest.mark.parametrize(("line", "name"), PEP_508_NAMES)
def test_pep_508_examples(line: str, name: str | None) -> None:
    assert parse_requirement(line, "3.12") == name


@pytest.mark.parametrize(("marker", "expected"), [
    ('os_name=="a" or os_name=="b"', False),
    ('os_name=="posix" and (os_name=="b" or os_name=="c")', False),
    ('os_name=="a" or os_name=="b" and os_name=="posix"', False),
    ('(os_name=="a" or os_name=="posix") and sys_platform=="linux"', True),
    ('python_full_version >= "3.12.0"', True),
    ('python_full_version >= "3.12.4"', None),  # the patch release is not known
    ('platform_release >= "6"', None),  # the build machine's kernel
    ('platform_machine != "x86_64" or python_version >= "3"', True),  # every CPU agrees
    ('implementation_name == "cpython"', True),
])
def test_markers_are_answered_only_when_every_open_value_agrees(marker: str, expected: bool | None) -> None:
    assert marker_allows(marker, "3.12") is expected


def test_an_unknown_python_is_every_python() -> None:
    assert marker_allows('python_version >= "3.6"', None) is True
    assert marker_allows('python_version >= "3.11"', None) is None


def test_markers_are_not_read_from_the_interpreter_running_dfmod() -> None:
    # dfmod itself may run on macOS or Windows; the image is Linux either way.
    assert marker_allows('sys_platform == "darwin"', "3.12") is False
    assert marker_allows('platform_system == "Linux"', "3.12") is True


def test_every_line_form_of_pips_requirements_file_format(tmp_path: Path) -> None:
    """The forms of pip's "Requirements File Format" documentation, one of each."""
    (tmp_path / "other-requirements.txt").write_text("rejected\n")
    (tmp_path / "requirements.txt").write_text(textwrap.dedent("""\
        ###### Requirements without Version Specifiers ######
        pytest
        pytest-cov
        ###### Requirements with Version Specifiers ######
        docopt == 0.6.1             # Version Matching. Must be version 0.6.1
        keyring >= 4.1.1            # Minimum version 4.1.1
        coverage != 3.5             # Version Exclusion. Anything except version 3.5
        Mopidy-Dirble ~= 1.1        # Compatible release. Same as >= 1.1, == 1.*
        ###### Refer to other requirements files ######
        -r other-requirements.txt
        --requirement=missing.txt
        ###### A particular file ######
        ./downloads/numpy-1.9.2-cp34-none-win32.whl
        http://wxpython.org/Phoenix/snapshot-builds/wxPython_Phoenix-3.0.3.dev1820+49a8884-cp34-none-win_amd64.whl
        numpy-1.9.2-cp34-none-win32.whl
        ###### Options ######
        -i https://pypi.org/simple
        --index-url https://pypi.org/simple
        --extra-index-url https://example.org/simple
        --no-index
        -c constraints.txt
        --constraint constraints.txt
        -f ./wheels
        --find-links=./wheels
        --no-binary :all:
        --only-binary :none:
        --prefer-binary
        --require-hashes
        --pre
        --trusted-host example.org
        --use-feature truststore
        ###### Editable and VCS installs ######
        -e .
        -e git+https://git.example.org/MyProject#egg=MyProject
        git+https://git.example.org/Other.git@v1.0#egg=Other
        ###### Per-requirement options, extras, markers, URLs ######
        FooProject >= 1.2 --global-option="--no-user-cfg" \\
            --config-settings="--build-option=--quiet"
        BarProject==1.0 --hash=sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824
        SomeProject[foo, bar]
        SomeProject2 ; sys_platform == 'win32'
        SomeProject3 @ https://example.org/SomeProject3-1.0.tar.gz
        https://${USER}:${PASSWORD}@example.org/private-1.0.tar.gz
        private-dep==${PRIVATE_VERSION}
        # a comment line ending in a backslash is not continued \\
        green
        """))
    names = [item.name for item in read_requirements(str(tmp_path / "requirements.txt"), "3.12")]
    assert names == ["pytest", "pytest-cov", "docopt", "keyring", "coverage", "Mopidy-Dirble",
                     "rejected", "FooProject", "BarProject", "SomeProject", "SomeProject3", "green"]


def test_a_continued_line_is_one_requirement(tmp_path: Path) -> None:
    path = tmp_path / "requirements.txt"
    path.write_text("uvicorn\\\n[standard]\\\n==0.30\nfastapi\n")
    assert [item.name for item in read_requirements(str(path), "3.12")] == ["uvicorn", "fastapi"]


def test_a_cycle_of_nested_files_ends(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("-r b.txt\nalpha\n")
    (tmp_path / "b.txt").write_text("-ra.txt\nbeta\n")
    assert [item.name for item in read_requirements(str(tmp_path / "a.txt"), "3.12")] == ["beta", "alpha"]
