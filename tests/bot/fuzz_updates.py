"""Hypothesis strategies for the updates a bot can receive: every kind, well-formed or not, with edge-case fields.

What a customer controls is hostile here (text, names, callback data: empty, beyond Telegram's lengths, control
characters, U+0000, lone surrogates, right-to-left marks, emoji, Chinese, HTML-like text); what Telegram controls
is merely unusual (ids at and beyond the 64-bit bounds, unknown fields Telegram may add tomorrow, optional
fields missing, update kinds the bot never asked for). Some updates are broken on purpose (a required field
dropped or replaced by any JSON value, or not an object at all).

A few values depend on what already happened, so they are markers the harness resolves when it delivers the
update (tests/bot/test_fuzz_pipeline.py): a fresh update id, a fresh callback query id, a photo the offline
server knows, the bot message a press belongs to, a real button of that message.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
BEYOND_64_BITS = [INT64_MAX + 1, INT64_MIN - 1, 2**64, 2**64 + 7, -(2**64), 10**30]
BOT = {"id": 123456789, "is_bot": True, "first_name": "Homedesk Test Bot", "username": "homedesk_test_bot"}
NOW = 1_772_413_200  # 2026-03-02, about when the frozen clock of other tests stands


@dataclass(frozen=True)
class Fresh:
    """An update_id never used before (in a range of its own, so no other update is taken for a duplicate)."""


@dataclass(frozen=True)
class QueryId:
    """A callback query id never used before (Telegram's are unique; the data is what a client can forge)."""


@dataclass(frozen=True)
class Photo:
    """PhotoSize objects of a photo the offline server stores (Telegram only hands out file ids it knows)."""


@dataclass(frozen=True)
class BotMessage:
    """The bot's latest message in the presser's chat (the one with buttons when there is one)."""


@dataclass(frozen=True)
class RealButton:
    """The callback data of a button the bot really sent in this chat (the n-th, counted modulo the buttons)."""

    index: int


@dataclass(frozen=True)
class Mutated:
    """A real button's callback data, changed the way a forger would."""

    index: int
    how: str


def weighted(*choices: tuple[int, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """One of the strategies, drawn in proportion to its weight (the first is the one shrinking goes to)."""
    table = [strategy for weight, strategy in choices for _ in range(weight)]
    return st.integers(0, len(table) - 1).flatmap(lambda index: table[index])


# -- text -----------------------------------------------------------------------------------------------------

PIECES = [
    "", " ", "\n", "\r\n", "\t", "\x00", "\x01", "\x08", "\x1b[31m", "\x7f", "\x85", "\u2028", "\u200b", "\u200d",
    "\u200e", "\u200f", "\u202e", "\u2066", "\ufeff", "\ufffd", "\ufffe", "\ud800", "\udfff", "\udbff\udfff",
    "\U0001f600", "\U0001f468\u200d\U0001f469\u200d\U0001f467", "\U0001f1e8\U0001f1f3", "e\u0301", "\U00010348",
    "中文", "您好", "我想租房", "朝阳区两居室", "报修", "投诉", "转人工", "مرحبا", "שלום", "Ｆｕｌｌ", "１２３",
    "<b>", "</b>", "<i>x</i>", "<script>alert(1)</script>", "<a href=\"javascript:alert(1)\">x</a>", "<", ">",
    "&amp;", "&", "&lt;", "&#0;", "&#x110000;", "&nbsp;", "<tg-spoiler>", "<!--", "<![CDATA[", "\"", "'", "`",
    "/start", "/help", "@homedesk_test_bot", "r|", "r|menu:", "2br Wangjing under 12k", "rent", "buy", "repair",
    "leaking tap", "complaint", "talk to a person", "my viewings", "my tickets", "menu", "yes", "no", "1", "0",
    "-1", "12345678901234567890", "9" * 40, "2026-02-30", "31/12/9999", "+8613800138000", "https://evil.example",
    "\\", "%s%n", "{0}", "{name}", "${x}", "'; DROP TABLE customers;--", "NaN", "None", "null",
]
# Repeated past Telegram's limits (4096 for a text, 1024 for a caption, 64 bytes for callback data).
HUGE_UNITS = ["x", "中", "\U0001f600", "<b>", "&amp;", "a\n", "word ", "\x00", "\u202e", "<b>x</b>"]

# What breaks storage, HTML or lengths: drawn on their own as well, so they are not lost among the rest.
NASTY = ["\x00", "\ud800", "\udfff", "\U0001f600", "<", "&", "<b>", "</b>", "\u202e", "\x1b", "中"]
small_text = st.lists(weighted((3, st.sampled_from(PIECES)), (2, st.sampled_from(NASTY)), (1, st.text(max_size=12))),
                      max_size=6).map("".join)
huge_text = st.tuples(st.sampled_from(HUGE_UNITS), st.integers(0, 3000)).map(
    lambda unit: unit[0] * (4097 // len(unit[0]) + unit[1]))
texts = weighted((6, small_text), (1, huge_text), (2, st.text(max_size=60)))
names = st.one_of(small_text.filter(bool), st.just(""), huge_text.map(lambda text: text[:300]))
languages = weighted((6, st.sampled_from(["en", "zh-hans"])),
                    (1, st.sampled_from(["zh-hant", "zh", "ZH-HANS", "en-US", "ru", "", "x" * 40, "\x00", "zh\x00",
                                         "中文", "<b>"])))

# -- ids and JSON -----------------------------------------------------------------------------------------------

EDGE_UPDATE_IDS = [0, -1, 1, 2**31 - 1, 2**31, 2**53 + 1, INT64_MAX, INT64_MIN, *BEYOND_64_BITS]
# Each field is mostly what Telegram sends and now and then an edge: an update is seldom odd in more ways than one,
# so most of them get past intake and into the flows.
update_ids = weighted((24, st.just(Fresh())), (1, st.sampled_from(EDGE_UPDATE_IDS)),
                      (1, st.sampled_from(["7", 1.5, None, True, [], {}])))
# A few regular customers, so conversations go on across examples, and the bounds.
REGULARS = [800_000_001 + n for n in range(6)]
user_ids = weighted((14, st.sampled_from(REGULARS)),
                    (1, st.sampled_from([1, 2**31, 2**53 + 1, INT64_MAX, INT64_MIN, -1, 0, *BEYOND_64_BITS])))
group_ids = weighted((6, st.sampled_from([-100_200_300, -1_001_234_567_890])),
                     (1, st.sampled_from([-1, INT64_MIN, INT64_MIN - 1, -(2**64)])))
message_ids = weighted((14, st.integers(1, 10_000)), (1, st.sampled_from([0, -1, 2**31, INT64_MAX, *BEYOND_64_BITS])))
dates = weighted((12, st.just(NOW)), (2, st.integers(NOW - 10**6, NOW + 10**6)),
                 (1, st.sampled_from([0, -1, 2**31, INT64_MAX, 2**64, 253402300800])))
json_scalars = st.one_of(st.none(), st.booleans(), weighted((6, st.integers(-1000, 10**6)), (1, st.integers()),
                                                            (1, st.sampled_from([INT64_MAX, *BEYOND_64_BITS]))),
                         st.floats(allow_nan=False, allow_infinity=False), small_text)
json_values = st.recursive(json_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)), max_leaves=6)
# Fields Telegram may add one day (and one it has, with a value of any type: a wrong type is malformed).
EXTRA_KEYS = ["future_field", "x_2030_feature", "reactions_v9", "\x00", "中文", "", "via_bot"]


extras = weighted((4, st.just({})), (1, st.dictionaries(st.one_of(st.sampled_from(EXTRA_KEYS), st.text(max_size=8)),
                                                          json_values, min_size=1, max_size=2)))


def with_extras(required: dict[str, Any], optional: dict[str, Any] | None = None) -> st.SearchStrategy[dict]:
    """An object with its required fields, some optional ones, and maybe fields nobody knows (never replacing a
    known one: that is what `broken` is for)."""
    fixed = st.fixed_dictionaries(required, optional=optional or {})
    return st.tuples(fixed, extras).map(lambda pair: {**pair[1], **pair[0]})


def users(ids: st.SearchStrategy[int] = user_ids) -> st.SearchStrategy[dict]:
    return with_extras({"id": ids, "is_bot": weighted((12, st.just(False)), (1, st.just(True))), "first_name": names},
                       {"last_name": names, "username": names, "language_code": languages,
                        "is_premium": st.booleans()})


def private_chat(user: dict) -> st.SearchStrategy[dict]:
    """A private chat is the user's own id (now and then a regular customer's: a forger's message)."""
    chat_id = weighted((5, st.just(user.get("id"))), (1, st.sampled_from(REGULARS)))
    return with_extras({"id": chat_id, "type": st.just("private"), "first_name": st.just(user.get("first_name"))},
                       {"username": names})


group_chats = with_extras({"id": group_ids, "type": st.sampled_from(["group", "supergroup"]), "title": names},
                          {"is_forum": st.booleans()})

# -- message content --------------------------------------------------------------------------------------------

COMMANDS = ["start", "help", "language", "menu", "START", "Help", "stop", "unknown", "a" * 33, "中文",
            "start@homedesk_test_bot", "help@other_bot", "start@"]
DEEP_LINKS = ["", "link_", "link_abc", "link_" + "9" * 40, "link_\x00", "ref_123", "x" * 70, "vw_" + str(2**70)]


@st.composite
def commands(draw: st.DrawFn) -> dict:
    command = "/" + draw(st.sampled_from(COMMANDS))
    args = draw(st.one_of(st.just(""), st.sampled_from(DEEP_LINKS), texts))
    text = f"{command} {args}" if args else command
    length = draw(st.one_of(st.just(len(command)), st.sampled_from([0, -1, 10**6, len(text) + 5])))
    return {"text": text, "entities": [{"type": "bot_command", "offset": 0, "length": length}]}


entities = st.lists(with_extras({"type": st.sampled_from(["bold", "bot_command", "url", "mention", "text_link",
                                                          "custom_emoji", "spoiler", "unknown_kind"]),
                                 "offset": st.sampled_from([0, 1, -1, 5000, INT64_MAX]),
                                 "length": st.sampled_from([0, 1, 4, -3, 10**6])},
                                {"url": small_text, "custom_emoji_id": small_text}), max_size=3)
text_content = st.fixed_dictionaries({"text": texts}, optional={"entities": entities, "link_preview_options": extras})
photo_content = st.fixed_dictionaries({"photo": st.just(Photo())}, optional={
    "caption": texts, "media_group_id": small_text, "caption_entities": entities, "has_media_spoiler": st.booleans()})
contact_content = st.fixed_dictionaries({"contact": with_extras(
    {"phone_number": st.one_of(st.just("+8613800138000"), small_text, huge_text), "first_name": names},
    {"last_name": names, "user_id": user_ids, "vcard": texts})})
coordinates = weighted((4, st.floats(-90, 90)), (1, st.sampled_from([-90.0, 90.0, 0.0, 1e-300, -180.0, 180.0, 1e308])))
location_content = st.fixed_dictionaries({"location": with_extras(
    {"latitude": coordinates, "longitude": coordinates}, {"horizontal_accuracy": st.floats(0, 1500),
                                                          "live_period": st.integers(0, 2**31)})})
venue_content = st.fixed_dictionaries({"venue": with_extras(
    {"location": st.fixed_dictionaries({"latitude": coordinates, "longitude": coordinates}),
     "title": names, "address": texts})})


def _file(**fields: Any) -> dict:
    return {"file_id": "AgAD" + "x" * 20, "file_unique_id": "AQAD", **fields}


other_content = st.sampled_from([
    {"sticker": _file(type="regular", width=512, height=512, is_animated=False, is_video=False, emoji="\U0001f44d")},
    {"voice": _file(duration=2, mime_type="audio/ogg")},
    {"video_note": _file(length=240, duration=3)},
    {"document": _file(file_name="../../etc/passwd\x00.pdf", mime_type="application/pdf")},
    {"audio": _file(duration=10, title="<b>song</b>")},
    {"animation": _file(width=1, height=1, duration=1)},
    {"video": _file(width=1, height=1, duration=1)},
    {"dice": {"emoji": "\U0001f3b2", "value": 6}},
    {"game": {"title": "g", "description": "d", "photo": []}},
    {"poll": {"id": "1", "question": "<b>?</b>", "options": [{"text": "a", "voter_count": 0}], "total_voter_count": 0,
              "is_closed": False, "is_anonymous": True, "type": "regular", "allows_multiple_answers": False}},
    {"story": {"chat": {"id": 1, "type": "private"}, "id": 1}},
    {"new_chat_members": [BOT]}, {"left_chat_member": BOT}, {"group_chat_created": True},
    {"migrate_to_chat_id": INT64_MIN}, {"pinned_message": {"chat": {"id": 1, "type": "private"}, "message_id": 1,
                                                           "date": 0}},
    {"web_app_data": {"data": "\x00" * 10, "button_text": "<b>"}},
    {"future_content_kind": {"anything": [1, 2, 3]}},
    {},
])
contents = weighted((6, text_content), (1, commands()), (1, photo_content), (1, contact_content),
                    (1, location_content), (1, venue_content), (1, other_content))


@st.composite
def messages(draw: st.DrawFn, *, group: bool = False, edited: bool = False) -> dict:
    user = draw(users())
    chat = draw(group_chats if group else private_chat(user))
    required = {"message_id": draw(message_ids), "date": draw(dates), "chat": chat}
    optional: dict[str, Any] = {"from": user}
    if edited:
        optional["edit_date"] = draw(dates)
    if draw(st.integers(0, 9)) == 0:  # a reply to some message, maybe one of the bot's
        optional["reply_to_message"] = {"message_id": draw(message_ids), "date": NOW, "chat": chat, "from": BOT,
                                        "text": draw(small_text) or "?"}
    if draw(st.integers(0, 14)) == 0:  # a private message that came without its sender
        optional.pop("from")
    message = {**draw(extras), **required, **optional, **draw(contents)}
    return message


@st.composite
def callback_data(draw: st.DrawFn) -> Any:
    """What a press can carry: real buttons (the flows go deep), their forgeries, and anything else."""
    index = draw(st.integers(0, 40))
    return draw(weighted(
        (10, st.just(RealButton(index))),
        (3, st.builds(Mutated, st.just(index), st.sampled_from(["id_beyond_64_bits", "negative", "huge", "nul",
                                                           "truncate", "other_prefix", "append", "unicode_digits"]))),
        (1, st.sampled_from(["r|", "r|menu", "r|menu:start", "r|needs:x:" + str(2**64), "r|viewings:" + "9" * 30,
                         "r|?", "r|\x00", "menu:start", "r|" + "x" * 62, "r|" + "x" * 63, "r|" + "中" * 30,
                         "r|tickets:" + str(INT64_MAX), "r|tickets:" + str(INT64_MAX + 1), "r|booking:-1",
                         "r|recommend:0", "r|survey:1:99", "r|revisit:١٢٣", "r||||", "r|a|b", ""])),
        (1, st.one_of(st.binary(max_size=80).map(lambda raw: raw.decode("latin-1")),
                      st.binary(max_size=80).map(lambda raw: raw.decode("utf-8", "surrogateescape")), texts)),
    ))


@st.composite
def callback_queries(draw: st.DrawFn) -> dict:
    user = draw(users())
    message = draw(weighted(
        (12, st.just(BotMessage())),
        (1, st.builds(lambda chat, message_id, date: {"chat": chat, "message_id": message_id, "date": date},
                      private_chat(user), message_ids, st.just(0))),  # inaccessible: too old to be shown
        (1, messages()),
        (1, st.builds(lambda chat, message_id: {"chat": chat, "message_id": message_id, "date": NOW, "from": BOT,
                                                "text": "forged"}, group_chats, message_ids)),
    ))
    return with_extras_now(
        {"id": QueryId(), "from": user, "chat_instance": draw(st.sampled_from(["-1", "123", "", "x" * 300])),
         "message": message, "data": draw(callback_data())},
        optional=["message", "data"], draw=draw)


def with_extras_now(required: dict[str, Any], *, optional: list[str], draw: st.DrawFn) -> dict:
    """Like `with_extras`, for an object built from values already drawn: the optional fields are left out now
    and then (rarely: without them most kinds of update say nothing)."""
    result = {**draw(extras), **required}
    for key in optional:
        if draw(st.integers(0, 11)) == 0:
            result.pop(key, None)
    return result


member_statuses = weighted((6, st.sampled_from(["member", "kicked", "left"])),
                           (1, st.sampled_from(["administrator", "restricted", "creator", "banned", ""])))


@st.composite
def chat_members(draw: st.DrawFn) -> dict:
    status = draw(member_statuses)
    member: dict[str, Any] = {"user": draw(st.one_of(st.just(BOT), users())), "status": status}
    if status == "kicked" or draw(st.booleans()):
        member["until_date"] = draw(st.one_of(st.just(0), dates))
    if status == "creator":
        member["is_anonymous"] = False
    if status == "administrator":
        member.update({key: True for key in (
            "can_be_edited", "is_anonymous", "can_manage_chat", "can_delete_messages", "can_manage_video_chats",
            "can_restrict_members", "can_promote_members", "can_change_info", "can_invite_users", "can_post_stories",
            "can_edit_stories", "can_delete_stories")})
    return member


@st.composite
def my_chat_members(draw: st.DrawFn) -> dict:
    user = draw(users())
    chat = draw(st.one_of(private_chat(user), private_chat(user), group_chats))
    return with_extras_now({"chat": chat, "from": user, "date": draw(dates), "old_chat_member": draw(chat_members()),
                            "new_chat_member": draw(chat_members())}, optional=[], draw=draw)


inline_queries = st.builds(lambda user, query, offset: {"id": "42", "from": user, "query": query, "offset": offset},
                           users(), texts, small_text)
polls = st.fixed_dictionaries({"id": small_text, "question": texts, "options": st.lists(st.fixed_dictionaries(
    {"text": texts, "voter_count": st.integers(0, 2**40), "persistent_id": st.just("1")}), max_size=3),
    "total_voter_count": st.integers(0, 9), "is_closed": st.booleans(), "is_anonymous": st.booleans(),
    "type": st.sampled_from(["regular", "quiz", "?"]), "allows_multiple_answers": st.booleans(),
    "allows_revoting": st.booleans(), "members_only": st.booleans()})
poll_answers = st.builds(lambda user, ids: {"poll_id": "1", "user": user, "option_ids": ids,
                                            "option_persistent_ids": [str(i) for i in ids]},
                         users(), st.lists(st.integers(-1, 9), max_size=3))
join_requests = st.builds(lambda chat, user, date: {"chat": chat, "from": user, "user_chat_id": user["id"],
                                                    "date": date}, group_chats, users(), dates)
channel_posts = st.builds(lambda chat_id, text: {"message_id": 1, "date": NOW, "text": text,
                                                 "chat": {"id": chat_id, "type": "channel", "title": "News"}},
                          group_ids, texts)


def _update(kind: str, body: st.SearchStrategy[Any]) -> st.SearchStrategy[dict]:
    return st.tuples(update_ids, body, extras).map(lambda parts: {**parts[2], "update_id": parts[0], kind: parts[1]})


well_formed = weighted(
    (10, _update("message", messages())),
    (10, _update("callback_query", callback_queries())),
    (2, _update("edited_message", messages(edited=True))),
    (2, _update("message", messages(group=True))),
    (1, _update("edited_message", messages(group=True, edited=True))),
    (3, _update("my_chat_member", my_chat_members())),
    (1, _update("inline_query", inline_queries)),
    (1, _update("poll", polls)),
    (1, _update("poll_answer", poll_answers)),
    (1, _update("chat_join_request", join_requests)),
    (1, _update("channel_post", channel_posts)),
    (1, _update("future_update_kind", json_values)),
    (1, st.tuples(update_ids, messages(), callback_queries()).map(  # two kinds in one update
        lambda parts: {"update_id": parts[0], "message": parts[1], "callback_query": parts[2]})),
    (1, update_ids.map(lambda update_id: {"update_id": update_id})),  # no kind at all
)


def _spots(value: Any) -> list[tuple[Any, Any]]:
    """Every (container, key) of a JSON value, to break one of them."""
    found: list[tuple[Any, Any]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            found.append((value, key))
            found += _spots(item)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.append((value, index))
            found += _spots(item)
    return found


@st.composite
def broken(draw: st.DrawFn) -> Any:
    """A well-formed update with one field dropped or replaced by any JSON value; or not an update at all."""
    if draw(st.integers(0, 9)) == 0:
        return draw(json_values)
    update = copy.deepcopy(draw(well_formed))
    spots = _spots(update)
    container, key = draw(st.sampled_from(spots))
    if isinstance(container, dict) and draw(st.booleans()):
        del container[key]
    else:
        container[key] = draw(json_values)
    return update


updates = weighted((8, well_formed), (1, broken()))


@st.composite
def journeys(draw: st.DrawFn) -> list[dict]:
    """One regular customer going through the flows: presses on the buttons the bot shows them, answers typed in
    between (hostile text mostly), photos, places, their contact. Well-formed, so it gets deep."""
    user = {"id": draw(st.sampled_from(REGULARS)), "is_bot": False, "first_name": draw(names),
            "language_code": draw(st.sampled_from(["en", "zh-hans"]))}
    chat = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
    press = st.integers(0, 40).map(lambda index: {"callback_query": {
        "id": QueryId(), "from": user, "chat_instance": "1", "message": BotMessage(), "data": RealButton(index)}})
    message = weighted((4, text_content), (1, photo_content), (1, location_content), (1, contact_content),
                       (1, st.sampled_from([{"text": word} for word in ("yes", "no", "1", "2", "3", "rent", "buy",
                                                                          "Chaoyang", "朝阳", "8000", "20000", "2")])),
                       ).map(lambda content: {"message": {"message_id": 1, "date": NOW, "chat": chat, "from": user,
                                                          **content}})
    steps = draw(st.lists(weighted((3, press), (2, message)), min_size=2, max_size=10))
    return [{"update_id": Fresh(), **step} for step in steps]


batches = weighted((2, st.lists(updates, min_size=1, max_size=6)), (1, journeys()))
