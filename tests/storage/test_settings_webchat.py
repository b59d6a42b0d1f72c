"""WEBCHAT_ORIGINS: origins only (scheme, host, port), normalised; anything else is refused with the setting's name."""

from __future__ import annotations

import pytest

from storage.settings import SettingsError, load_settings


def test_origins_are_normalised_and_listed() -> None:
    settings = load_settings(webchat_origins=" https://WWW.Example.com/ , http://127.0.0.1:8081")
    assert settings.webchat_origin_list == ("https://www.example.com", "http://127.0.0.1:8081")
    assert load_settings(webchat_origins="").webchat_origin_list == ()


@pytest.mark.parametrize("value", ["www.example.com", "https://example.com/path", "javascript:alert(1)",
                                   "https://a.com; script-src *"])
def test_anything_but_an_origin_is_refused(value: str) -> None:
    with pytest.raises(SettingsError, match="^WEBCHAT_ORIGINS: "):
        load_settings(webchat_origins=value)
