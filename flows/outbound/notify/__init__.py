"""Alert notifications: one digest per run and team, sent through Apprise.

Configure targets in the ``notify:`` section of the config file. Each entry of a team's
``urls`` is an Apprise URL whose secret parts are ``${NAME}`` placeholders read from the
environment at send time, or ``{url_env: NAME}`` naming a variable that holds the whole URL.
The expanded URL is never logged or written; logs, results and the ledger show a label.

URL forms (apprise 2.x)::

    dingtalk://${DINGTALK_TOKEN}/                 robot webhook access_token
    dingtalk://${DINGTALK_SECRET}@${DINGTALK_TOKEN}/   ...with "sign" security enabled
    feishu://${FEISHU_TOKEN}                       open.feishu.cn/open-apis/bot/v2/hook/TOKEN
    lark://${LARK_TOKEN}                           open.larksuite.com/open-apis/bot/v2/hook/TOKEN
    wecombot://${WECOM_KEY}                        qyapi.weixin.qq.com/cgi-bin/webhook/send?key=KEY
    slack://${SLACK_A}/${SLACK_B}/${SLACK_C}       hooks.slack.com/services/A/B/C
    slack://${SLACK_BOT_TOKEN}/#channel            a bot token (xoxb-...) and a channel
    mailtos://${SMTP_USER}:${SMTP_PASS}@smtp.example.com?to=team@example.com   (STARTTLS;
        add &mode=ssl for port 465, or use mailto:// with &mode=insecure for a relay)
    json://host:port/path  form://host:port/path   any HTTP endpoint (JSON or form body)
    digest://  digest://NAME.md                    the file sink (below)

Feishu, Lark and WeCom bots display raw text, so they get a plain-text rendering; DingTalk,
Slack, e-mail and the file sink get Markdown (Apprise turns it into HTML for e-mail).

Native robot messages (:mod:`flows.outbound.notify.platforms`): DingTalk markdown or
actionCard signed with HMAC-SHA256, Feishu interactive cards (signed), WeCom markdown within
4,096 bytes, each split to the platform's limit::

    dingtalk+native://${DINGTALK_SECRET}@${DINGTALK_TOKEN}/   (add ?card=yes for an actionCard)
    feishu+native://${FEISHU_SECRET}@${FEISHU_TOKEN}          (lark+native:// for Lark)
    wecom+native://${WECOM_KEY}

The file sink (``digest://``) writes the team's digest as Markdown to ``digest-<team>.md``
(or NAME, which must contain "digest") in the run's output folder. It is handled here rather
than as an Apprise plugin: the folder is only known per run, the write must be atomic, and
Apprise's custom-plugin registry is process-wide state. A file sink always lists all of the
team's alerts (it is the run's record); chat and e-mail targets get only new or changed ones.

Example::

    notify:
      top_n: 10
      link_base_url: https://files.example.com/replenish/outputs
      teams:
        - name: beauty
          categories: [skincare, makeup]
          urls: ["dingtalk://${DINGTALK_BEAUTY_TOKEN}/"]
        - name: default                     # alerts no other team claims
          urls: [{url_env: WECOM_URL}, "digest://"]
"""

from flows.outbound.notify.digest import RunSummary, build_digest, failure_message
from flows.outbound.notify.dispatch import NotifyResult, notify_failure, notify_run
from flows.outbound.notify.ledger import (
    JsonLedger,
    NotificationLedger,
    StoreLedger,
    fingerprint_alerts,
    import_json_ledger,
)
from flows.outbound.notify.routing import route_alerts

__all__ = [
    "JsonLedger",
    "NotificationLedger",
    "NotifyResult",
    "RunSummary",
    "StoreLedger",
    "build_digest",
    "failure_message",
    "fingerprint_alerts",
    "import_json_ledger",
    "notify_failure",
    "notify_run",
    "route_alerts",
]
