#!/usr/bin/env python3
"""Generates rules/policies/zendesk.toml (every route twice: with and without ".json").

Usage: python3 scripts/gen-zendesk-policies.py > rules/policies/zendesk.toml
"""
import json
out = []
def arr(xs, indent=7):
    if not xs: return "[]"
    s = "["; line = ""
    parts = [json.dumps(x) for x in xs]
    lines = []; cur = ""
    for p in parts:
        piece = p + ", "
        if len(cur) + len(piece) > 88:
            lines.append(cur.rstrip()); cur = ""
        cur += piece
    lines.append(cur.rstrip().rstrip(","))
    return "[" + ("\n" + " " * indent).join(lines) + "]"

def pol(pid, route, direction, comment=None, keep=(), scan=(), hash_=(), drop=(), html=(), otherwise="drop", json_twin=True, mode=None):
    routes = [(pid, route)]
    if json_twin:
        routes.append((pid + ".json", route + ".json"))
    for i, (p, r) in enumerate(routes):
        b = []
        if comment and i == 0:
            b += ["# " + l if l else "#" for l in comment.strip("\n").split("\n")]
        elif i == 1:
            b.append(f"# Same as {pid}, for the \".json\" spelling of the route.")
        b.append("[[policy]]")
        b.append(f'id = "{p}"')
        b.append('profile = "zendesk"')
        b.append(f'route = "{r}"')
        b.append(f'direction = "{direction}"')
        if mode:
            b.append(f'mode = "{mode}"')
        for name, xs in (("keep", keep), ("scan", scan), ("hash", hash_), ("drop", drop), ("html", html)):
            if xs:
                b.append(f"{name} = " + arr(list(xs), indent=len(name) + 4))
        b.append(f'otherwise = "{otherwise}"')
        out.append("\n".join(b))

def pre(prefix, xs):
    return [f"{prefix}.{x}" if prefix else x for x in xs]

# ---- ticket bodies (request) --------------------------------------------
T_KEEP = ["requester.name", "requester.email", "requester.phone", "requester.locale_id",
          "requester_id", "submitter_id", "assignee_id", "group_id", "organization_id",
          "brand_id", "ticket_form_id", "type", "priority", "status", "tags", "due_at",
          "problem_id", "comment.public", "comment.author_id", "comment.uploads",
          "custom_fields.id", "fields.id", "safe_update", "updated_stamp", "id"]
T_SCAN = ["subject", "raw_subject", "description", "comment.body", "comment.html_body",
          "custom_fields.value", "fields.value"]
T_HTML = ["comment.html_body"]
T_DROP = ["comment.metadata", "metadata", "external_id", "collaborators", "collaborator_ids",
          "email_ccs", "email_cc_ids", "follower_ids", "followers", "assignee_email",
          "recipient", "via", "requester.details", "requester.notes", "requester.external_id"]

# ---- ticket bodies (response) -------------------------------------------
TR_KEEP = ["id", "url", "created_at", "updated_at", "generated_timestamp", "type", "priority",
           "status", "requester_id", "submitter_id", "assignee_id", "organization_id", "group_id",
           "brand_id", "ticket_form_id", "collaborator_ids", "follower_ids", "email_cc_ids",
           "followup_ids", "sharing_agreement_ids", "problem_id", "has_incidents", "is_public",
           "due_at", "tags", "custom_fields.id", "fields.id", "via.channel",
           "satisfaction_rating.score", "allow_channelback", "allow_attachments",
           "from_messaging_channel"]
TR_SCAN = ["subject", "raw_subject", "description", "custom_fields.value", "fields.value",
           "satisfaction_rating.comment", "via.source", "external_id"]
# sideloaded users (?include=users)
U_KEEP = ["id", "url", "name", "email", "phone", "organization_id", "role", "role_type",
          "locale", "locale_id", "time_zone", "iana_time_zone", "created_at", "updated_at",
          "verified", "active", "suspended", "shared", "shared_agent", "moderator",
          "ticket_restriction", "only_private_comments", "restricted_agent", "default_group_id",
          "custom_role_id", "two_factor_auth_enabled", "tags", "report_csv"]
U_DROP = ["photo", "details", "notes", "alias", "external_id", "user_fields",
          "shared_phone_number", "last_login_at", "remote_photo_url", "identities"]
U_SCAN = ["signature"]

header = '''# Reference privacy policy (shared/DESIGN.md) for the Zendesk Support API v2.
# A ticket needs: full name, e-mail, phone (optional), company (optional) and
# the request itself. Everything else stays behind: minimisation happens before
# data leaves for the sub-processor. Free text is scanned by the detectors.
#
# Notes for this profile:
# - Bodies are wrapped: {"ticket": {...}}, {"tickets": [...]}, {"user": {...}},
#   {"comments": [...]}, {"results": [...]}; paths include the wrapper.
# - Zendesk accepts every route with and without ".json". Route templates match
#   whole path segments, so "{id}.json" cannot be written; "{id}" matches
#   "123" and "123.json" alike, but for literal last segments
#   ("/api/v2/tickets" vs "/api/v2/tickets.json") each policy has a twin.
#   (A `routes = [...]` list or an optional-suffix syntax would remove the
#   twins; see the report.)
# - "{id}" also matches literal sub-resources ("show_many.json", "search.json"),
#   and the first matching policy wins, so literal routes come first.
# - The search query (GET /api/v2/search?query=…) is in the URL, not the body:
#   field policies cannot see it.
# - Comment metadata (metadata.system: client IP, location, latitude,
#   longitude, user agent) is dropped everywhere.
# - Written by scripts/gen-zendesk-policies.py (python3, stdlib only) so the
#   ".json" twins cannot drift apart: edit the lists there and regenerate with
#   `python3 scripts/gen-zendesk-policies.py > rules/policies/zendesk.toml`.'''

out.append(header)
out.append("# ------------------------------------------------------------- tickets --")

pol("zendesk.ticket.create", "POST /api/v2/tickets", "request",
    comment='''{"ticket": {"subject", "comment": {"body"|"html_body", "public", "uploads",
"metadata"}, "requester": {"name", "email", "locale_id"}, "priority", "type",
"tags", "custom_fields": [{"id", "value"}], "collaborators", "email_ccs",
"external_id", ...}}''',
    keep=pre("ticket", T_KEEP), scan=pre("ticket", T_SCAN), drop=pre("ticket", T_DROP),
    html=pre("ticket", T_HTML))
pol("zendesk.ticket.create_many", "POST /api/v2/tickets/create_many", "request",
    comment='{"tickets": [ticket, ...]}: the same lists under "tickets".',
    keep=pre("tickets", T_KEEP), scan=pre("tickets", T_SCAN), drop=pre("tickets", T_DROP),
    html=pre("tickets", T_HTML))
# On update "tags" would replace the list and "remove_tags" remove from it:
# only "additional_tags" is kept (see the comment of zendesk.ticket.update).
TU_KEEP = ["additional_tags" if k == "tags" else k for k in T_KEEP]
TU_DROP_TAGS = ["ticket.tags", "ticket.remove_tags", "tickets.tags", "tickets.remove_tags"]
pol("zendesk.ticket.update_many", "PUT /api/v2/tickets/update_many", "request",
    comment='{"ticket": {...}} (same change for ?ids=…) or {"tickets": [{"id", ...}]}.',
    keep=pre("ticket", TU_KEEP) + pre("tickets", TU_KEEP),
    scan=pre("ticket", T_SCAN) + pre("tickets", T_SCAN),
    drop=TU_DROP_TAGS + pre("ticket", T_DROP) + pre("tickets", T_DROP),
    html=pre("ticket", T_HTML) + pre("tickets", T_HTML))
pol("zendesk.ticket.update", "PUT /api/v2/tickets/{id}", "request", json_twin=False,
    comment='''{"ticket": {...}}; "{id}" matches "123" and "123.json".
Tags on update: Zendesk's "tags" REPLACES the ticket's list (and
"remove_tags" removes), which would wipe the legal-basis:* and retention:*
tags deskguard set at creation; deskguard cannot know the basis on an
update. So updates through deskguard may only ADD tags ("additional_tags",
kept); "tags" and "remove_tags" are dropped (counted in
deskguard_fields_dropped_total). Same for update_many above.''',
    keep=pre("ticket", TU_KEEP), scan=pre("ticket", T_SCAN),
    drop=TU_DROP_TAGS + pre("ticket", T_DROP), html=pre("ticket", T_HTML))
# The tag endpoints of a ticket: {"tags": [...]} (+ "safe_update", "updated_stamp").
TAGS_KEEP = ["tags", "safe_update", "updated_stamp"]
pol("zendesk.ticket.tags.add", "POST /api/v2/tickets/{id}/tags", "request",
    comment='''Tag endpoints. POST adds the tags, DELETE removes them: both are kept,
but a legal-basis:* or retention:* value is removed from "tags" by
[[legal_basis.protect]] (rules/legal-basis.toml), so a basis can be neither
forged (POST) nor removed (DELETE); counted in deskguard_fields_dropped_total.''',
    keep=TAGS_KEEP)
pol("zendesk.ticket.tags.remove", "DELETE /api/v2/tickets/{id}/tags", "request",
    comment="DELETE removes the listed tags (see zendesk.ticket.tags.add).",
    keep=TAGS_KEEP)
pol("zendesk.ticket.tags.set", "PUT /api/v2/tickets/{id}/tags", "request", mode="refuse",
    comment='''PUT REPLACES the ticket's tags with "tags": it would wipe the legal-basis:*
and retention:* tags, and deskguard cannot know a ticket's basis to re-add
them. No body can make it safe, so every request is refused (422
problem+json, reason "route_refused", counted in deskguard_fail_closed_total);
nothing reaches Zendesk. Clients add tags with POST and remove them with
DELETE instead.''')

LIST_TOP = ["next_page", "previous_page", "count", "meta", "links", "end_of_stream", "after_url",
            "before_url"]
pol("zendesk.ticket.list", "GET /api/v2/tickets", "response",
    comment='{"tickets": [...], "next_page", "previous_page", "count"} (+ sideloads).',
    keep=LIST_TOP + pre("tickets", TR_KEEP) + pre("users", U_KEEP),
    scan=pre("tickets", TR_SCAN) + pre("users", U_SCAN), drop=pre("users", U_DROP),
    otherwise="scan")
pol("zendesk.ticket.show_many", "GET /api/v2/tickets/show_many", "response",
    comment='Literal route before GET /api/v2/tickets/{id}: {"tickets": [...]}.',
    keep=LIST_TOP + pre("tickets", TR_KEEP) + pre("users", U_KEEP),
    scan=pre("tickets", TR_SCAN) + pre("users", U_SCAN), drop=pre("users", U_DROP),
    otherwise="scan")
pol("zendesk.ticket.read", "GET /api/v2/tickets/{id}", "response", json_twin=False,
    comment='''{"ticket": {...}} (+ "users" etc. with ?include=users); "{id}" matches
"123" and "123.json" (and "count.json", "recent.json": other wrappers, scanned).''',
    keep=pre("ticket", TR_KEEP) + pre("users", U_KEEP),
    scan=pre("ticket", TR_SCAN) + pre("users", U_SCAN), drop=pre("users", U_DROP),
    otherwise="scan")
for _suffix, _route in (("", "POST /api/v2/tickets/*"), (".json", "POST /api/v2/tickets.json"),
                       (".put", "PUT /api/v2/tickets/*")):
  pol("zendesk.ticket.write.response" + _suffix, _route, "response", json_twin=False,
    comment='''Answers to create/update ({"ticket": {...}, "audit": {"events": [...]}}):
the ticket as above; audit events echo comment bodies and carry the same
metadata (IP, location) as comments.''',
    keep=pre("ticket", TR_KEEP) + ["audit.id", "audit.ticket_id", "audit.created_at",
                                   "audit.author_id", "audit.events.id", "audit.events.type",
                                   "audit.events.public", "audit.events.author_id",
                                   "audit.events.field_name", "job_status.id",
                                   "job_status.url", "job_status.status"],
    scan=pre("ticket", TR_SCAN) + ["audit.events.body", "audit.events.html_body",
                                   "audit.events.plain_body", "audit.events.value",
                                   "audit.events.previous_value"],
    drop=["audit.metadata", "audit.via.source", "audit.events.metadata"],
    html=["audit.events.html_body"],
    otherwise="scan")

out.append("# ------------------------------------------------------------ comments --")
C_KEEP = ["next_page", "previous_page", "count", "meta", "links",
          "comments.id", "comments.type", "comments.author_id", "comments.public",
          "comments.audit_id", "comments.created_at", "comments.via.channel",
          "comments.attachments.id", "comments.attachments.url",
          "comments.attachments.content_url", "comments.attachments.mapped_content_url",
          "comments.attachments.content_type", "comments.attachments.size",
          "comments.attachments.width", "comments.attachments.height",
          "comments.attachments.inline", "comments.attachments.deleted",
          "comments.attachments.malware_access_override",
          "comments.attachments.malware_scan_result"]
C_SCAN = ["comments.body", "comments.html_body", "comments.plain_body",
          "comments.attachments.file_name", "comments.attachments.thumbnails.file_name",
          "comments.via.source"]
pol("zendesk.ticket.comments", "GET /api/v2/tickets/{id}/comments", "response",
    comment='''{"comments": [{"id", "type", "author_id", "body", "html_body", "plain_body",
"public", "attachments": [...], "audit_id", "via": {"channel", "source"},
"created_at", "metadata": {"system": {"client", "ip_address", "location",
"latitude", "longitude"}, "custom": {...}}}], "next_page", "previous_page", "count"}''',
    keep=C_KEEP, scan=C_SCAN, drop=["comments.metadata"], html=["comments.html_body"],
    otherwise="scan")

out.append("# --------------------------------------------------------------- users --")
UR_KEEP = ["name", "email", "phone", "organization_id", "organization.name", "role",
           "custom_role_id", "verified", "locale", "locale_id", "time_zone", "tags",
           "skip_verify_email", "default_group_id", "ticket_restriction",
           "only_private_comments", "restricted_agent", "suspended", "moderator", "id"]
pol("zendesk.user.create", "POST /api/v2/users", "request",
    comment='''{"user": {...}}: full name, e-mail, phone (optional), company (optional).''',
    keep=pre("user", UR_KEEP), scan=pre("user", U_SCAN), drop=pre("user", U_DROP))
pol("zendesk.user.create_or_update", "POST /api/v2/users/create_or_update", "request",
    keep=pre("user", UR_KEEP), scan=pre("user", U_SCAN), drop=pre("user", U_DROP))
pol("zendesk.user.create_many", "POST /api/v2/users/create_many", "request",
    comment='{"users": [user, ...]}',
    keep=pre("users", UR_KEEP), scan=pre("users", U_SCAN), drop=pre("users", U_DROP))
pol("zendesk.user.update", "PUT /api/v2/users/{id}", "request", json_twin=False,
    keep=pre("user", UR_KEEP), scan=pre("user", U_SCAN), drop=pre("user", U_DROP))

for lit in ("search", "autocomplete", "show_many"):
    pol(f"zendesk.user.{lit}", f"GET /api/v2/users/{lit}", "response",
        comment=(f'Literal route before GET /api/v2/users/{{id}}: {{"users": [...]}}.'),
        keep=LIST_TOP + pre("users", U_KEEP), scan=pre("users", U_SCAN),
        drop=pre("users", U_DROP))
pol("zendesk.user.list", "GET /api/v2/users", "response",
    comment='{"users": [...], "next_page", "previous_page", "count"}',
    keep=LIST_TOP + pre("users", U_KEEP), scan=pre("users", U_SCAN), drop=pre("users", U_DROP))
pol("zendesk.user.read", "GET /api/v2/users/{id}", "response", json_twin=False,
    comment='''{"user": {...}}; "{id}" matches "123", "123.json" and "me.json". A user record is
almost all personal data: what is not listed is dropped.''',
    keep=pre("user", U_KEEP), scan=pre("user", U_SCAN), drop=pre("user", U_DROP))
for _suffix, _route in (("", "POST /api/v2/users/*"), (".json", "POST /api/v2/users.json"),
                       (".put", "PUT /api/v2/users/*")):
  pol("zendesk.user.write.response" + _suffix, _route, "response", json_twin=False,
    comment='Answers to user create/update: {"user": {...}} or {"job_status": {...}}.',
    keep=pre("user", U_KEEP) + ["job_status.id", "job_status.url", "job_status.status"],
    scan=pre("user", U_SCAN), drop=pre("user", U_DROP))

out.append("# -------------------------------------------------------------- search --")
R_KEEP = ["next_page", "previous_page", "count", "facets", "meta", "links",
          "results.id", "results.url", "results.result_type", "results.created_at",
          "results.updated_at", "results.status", "results.priority", "results.type",
          "results.requester_id", "results.submitter_id", "results.assignee_id",
          "results.organization_id", "results.group_id", "results.brand_id", "results.tags",
          "results.name", "results.email", "results.phone", "results.role",
          "results.custom_fields.id", "results.fields.id", "results.via.channel"]
R_SCAN = ["results.subject", "results.raw_subject", "results.description",
          "results.custom_fields.value", "results.fields.value", "results.via.source",
          "results.signature"]
R_DROP = pre("results", ["photo", "details", "notes", "alias", "external_id", "user_fields",
                         "shared_phone_number", "last_login_at", "remote_photo_url"])
pol("zendesk.search", "GET /api/v2/search", "response",
    comment='''{"results": [objects with "result_type": ticket|user|organization|group], "facets",
"next_page", "previous_page", "count"}. The query itself is in the URL.''',
    keep=R_KEEP, scan=R_SCAN, drop=R_DROP, otherwise="scan")
pol("zendesk.search.export", "GET /api/v2/search/export", "response",
    keep=R_KEEP, scan=R_SCAN, drop=R_DROP, otherwise="scan")

out.append("# ------------------------------------------------ requests (end users) --")
RQ_KEEP = ["requester.name", "requester.email", "requester.locale_id", "priority", "type",
           "due_at", "ticket_form_id", "custom_fields.id", "fields.id", "comment.uploads",
           "brand_id", "organization_id"]
RQ_SCAN = ["subject", "comment.body", "comment.html_body", "custom_fields.value",
           "fields.value"]
RQ_DROP = ["collaborators", "email_ccs", "recipient", "metadata", "comment.metadata"]
pol("zendesk.request.create", "POST /api/v2/requests", "request",
    comment='''End-user API: {"request": {"requester": {"name", "email"}, "subject",
"comment": {"body"|"html_body", "uploads"}, "custom_fields", "collaborators", ...}}''',
    keep=pre("request", RQ_KEEP), scan=pre("request", RQ_SCAN), drop=pre("request", RQ_DROP),
    html=["request.comment.html_body"])

print("\n\n".join(out))
