import type { Context } from 'koa';
import { z } from 'zod';
import type { AccountChoice } from '../oidc/interaction-policy.ts';
import { AppError } from '../shared/app-error.ts';
import { parseForm } from './forms.ts';
import { clientName, finish, loadInteraction, type Interaction, type InteractionDeps } from './interaction-context.ts';

const choiceForm = z.object({ account: z.enum(['current', 'another']) });

const expired = () => new AppError('interaction_expired', 'this sign-in page has expired; start again from the application');

/** The account chooser (prompt=select_account): who is signed in, and "use another account". */
export async function showAccountChooser(deps: InteractionDeps, ctx: Context, interaction: Interaction): Promise<void> {
  const account = await deps.accounts.findAccountById(interaction.session?.accountId ?? '');
  if (!account) throw expired();
  deps.renderer.page(ctx, 'select-account', {
    uid: interaction.uid, clientName: await clientName(deps, interaction), email: account.email, name: account.name,
  });
}

/**
 * The chooser's answer goes back to the provider as the `select_account` result; the interaction
 * policy (src/oidc/interaction-policy.ts) decides what comes next: the login prompt for another
 * account, else the next prompt (second factor, consent) or the code for the signed-in account.
 */
export async function submitAccountChoice(deps: InteractionDeps, ctx: Context): Promise<void> {
  const interaction = await loadInteraction(deps, ctx, 'select_account');
  const { account } = parseForm(choiceForm, ctx.request.body);
  const accountId = interaction.session?.accountId;
  if (!accountId) throw expired();
  const choice: AccountChoice = account === 'current' ? { accountId } : { another: true };
  await finish(deps, ctx, { select_account: choice }, true);
}
