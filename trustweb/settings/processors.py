"""Settings: which processor takes payments into each bank account, and its Stripe keys."""

from flask import current_app, url_for
from flask_login import current_user

from trustweb.auth.permissions import requires
from trustweb.models import BankAccount
from trustweb.payments import stripe_keys
from trustweb.services import firm as firm_service
from trustweb.settings import bp
from trustweb.settings.forms import ProcessorForm
from trustweb.views import form_page, get_or_404


@bp.route("/accounts/<int:account_id>/processor", methods=["GET", "POST"])
@requires("manage_accounts")
def processor(account_id):
    """Test or Stripe for this account; a saved key is never shown again."""
    account = get_or_404(BankAccount, account_id)
    form = ProcessorForm(obj=account)
    return form_page(
        form,
        "settings/processor.html",
        lambda: firm_service.save_processor(account, form.values(), current_user),
        lambda saved: (f"Payment settings for {saved.name} saved.", url_for("settings.accounts")),
        account=account,
        keys=stripe_keys(account),
        webhook_url=current_app.config["BASE_URL"] + url_for("webhooks.stripe_events"),
    )
