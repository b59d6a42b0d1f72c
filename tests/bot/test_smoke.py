from __future__ import annotations


async def test_start_in_english(api, make_channel):
    async with make_channel(api):
        ann = api.customer(first_name="Ann", language_code="en")
        ann.send_command("start")
        message = await ann.wait_for("Hello Ann")
        assert "Homedesk" in message["text"]
