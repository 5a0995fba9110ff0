/**
 * Block Kit limits as Slack enforces them (docs.slack.dev Block Kit reference). The stand-in refuses what Slack
 * would refuse, with the same error codes, so a card that passes here passes in Slack.
 */

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const textOf = (v: unknown): string | undefined => (isObj(v) && typeof v.text === 'string' ? v.text : undefined);

function checkText(problems: string[], where: string, v: unknown, max: number, plainOnly = false) {
  const t = textOf(v);
  if (t === undefined) {
    problems.push(`${where}: missing text object`);
    return;
  }
  if (t.length === 0) problems.push(`${where}: empty text`);
  if (t.length > max) problems.push(`${where}: must be at most ${max} characters (got ${t.length})`);
  if (plainOnly && isObj(v) && v.type !== 'plain_text') problems.push(`${where}: must be plain_text`);
}

function checkOption(problems: string[], where: string, o: unknown) {
  if (!isObj(o)) {
    problems.push(`${where}: option must be an object`);
    return;
  }
  checkText(problems, `${where}.text`, o.text, 75);
  if (typeof o.value !== 'string' || o.value.length > 150) problems.push(`${where}.value: 1-150 characters`);
}

function checkElement(problems: string[], where: string, e: unknown) {
  if (!isObj(e)) {
    problems.push(`${where}: element must be an object`);
    return;
  }
  if (typeof e.action_id === 'string' && e.action_id.length > 255) problems.push(`${where}.action_id: too long`);
  switch (e.type) {
    case 'button':
      checkText(problems, `${where}.text`, e.text, 75, true);
      if (typeof e.value === 'string' && e.value.length > 2000) problems.push(`${where}.value: more than 2000`);
      if (e.style !== undefined && e.style !== 'primary' && e.style !== 'danger') problems.push(`${where}.style`);
      if (e.confirm !== undefined) {
        const c = e.confirm as Json;
        checkText(problems, `${where}.confirm.title`, c.title, 100, true);
        checkText(problems, `${where}.confirm.text`, c.text, 300);
        checkText(problems, `${where}.confirm.confirm`, c.confirm, 30, true);
        checkText(problems, `${where}.confirm.deny`, c.deny, 30, true);
      }
      break;
    case 'static_select': {
      const options = Array.isArray(e.options) ? e.options : [];
      if (options.length === 0 || options.length > 100) problems.push(`${where}.options: 1-100 options`);
      for (const [i, o] of options.entries()) checkOption(problems, `${where}.options[${i}]`, o);
      break;
    }
    case 'checkboxes': {
      const options = Array.isArray(e.options) ? e.options : [];
      if (options.length === 0 || options.length > 10) problems.push(`${where}.options: 1-10 options`);
      for (const [i, o] of options.entries()) checkOption(problems, `${where}.options[${i}]`, o);
      break;
    }
    case 'plain_text_input': {
      const max = typeof e.max_length === 'number' ? e.max_length : 3000;
      if (max > 3000) problems.push(`${where}.max_length: at most 3000`);
      if (typeof e.initial_value === 'string' && e.initial_value.length > max)
        problems.push(`${where}.initial_value: longer than max_length`);
      break;
    }
    case 'number_input':
      if (typeof e.is_decimal_allowed !== 'boolean') problems.push(`${where}.is_decimal_allowed: required`);
      break;
    default:
      problems.push(`${where}: unsupported element type ${String(e.type)}`);
  }
}

function checkBlock(problems: string[], where: string, b: unknown, surface: 'message' | 'modal' | 'home') {
  if (!isObj(b)) {
    problems.push(`${where}: block must be an object`);
    return;
  }
  if (typeof b.block_id === 'string' && b.block_id.length > 255) problems.push(`${where}.block_id: too long`);
  switch (b.type) {
    case 'header':
      checkText(problems, `${where}.text`, b.text, 150, true);
      break;
    case 'section':
      if (b.text === undefined && b.fields === undefined) problems.push(`${where}: text or fields required`);
      if (b.text !== undefined) checkText(problems, `${where}.text`, b.text, 3000);
      if (Array.isArray(b.fields)) {
        if (b.fields.length > 10) problems.push(`${where}.fields: at most 10`);
        for (const [i, f] of b.fields.entries()) checkText(problems, `${where}.fields[${i}]`, f, 2000);
      }
      if (b.accessory !== undefined) checkElement(problems, `${where}.accessory`, b.accessory);
      break;
    case 'divider':
      break;
    case 'context': {
      const els = Array.isArray(b.elements) ? b.elements : [];
      if (els.length === 0 || els.length > 10) problems.push(`${where}.elements: 1-10 elements`);
      for (const [i, e] of els.entries()) checkText(problems, `${where}.elements[${i}]`, e, 3000);
      break;
    }
    case 'actions': {
      const els = Array.isArray(b.elements) ? b.elements : [];
      if (els.length === 0 || els.length > 25) problems.push(`${where}.elements: 1-25 elements`);
      for (const [i, e] of els.entries()) checkElement(problems, `${where}.elements[${i}]`, e);
      break;
    }
    case 'input':
      if (surface === 'message') problems.push(`${where}: input blocks are not allowed in messages`);
      checkText(problems, `${where}.label`, b.label, 2000, true);
      if (b.hint !== undefined) checkText(problems, `${where}.hint`, b.hint, 2000, true);
      checkElement(problems, `${where}.element`, b.element);
      break;
    default:
      problems.push(`${where}: unsupported block type ${String(b.type)}`);
  }
}

/** Problems with `blocks` on a surface; empty when Slack would accept them. */
export function blockProblems(blocks: unknown, surface: 'message' | 'modal' | 'home'): string[] {
  const problems: string[] = [];
  if (!Array.isArray(blocks)) return ['blocks: must be an array'];
  const max = surface === 'message' ? 50 : 100;
  if (blocks.length > max) problems.push(`blocks: at most ${max} (got ${blocks.length})`);
  const ids = new Set<string>();
  blocks.forEach((b, i) => {
    checkBlock(problems, `blocks[${i}]`, b, surface);
    const id = isObj(b) && typeof b.block_id === 'string' ? b.block_id : undefined;
    if (id && ids.has(id)) problems.push(`blocks[${i}].block_id: duplicate ${id}`);
    if (id) ids.add(id);
  });
  return problems;
}

/** Problems with a modal or home view object. */
export function viewProblems(view: unknown): string[] {
  if (!isObj(view)) return ['view: must be an object'];
  const surface = view.type === 'home' ? 'home' : 'modal';
  const problems = blockProblems(view.blocks, surface);
  if (surface === 'modal') {
    checkText(problems, 'view.title', view.title, 24, true);
    if (view.submit !== undefined) checkText(problems, 'view.submit', view.submit, 24, true);
    if (view.close !== undefined) checkText(problems, 'view.close', view.close, 24, true);
    const hasInput = Array.isArray(view.blocks) && view.blocks.some((b) => isObj(b) && b.type === 'input');
    if (hasInput && view.submit === undefined) problems.push('view.submit: required when the view has inputs');
  }
  if (typeof view.private_metadata === 'string' && view.private_metadata.length > 3000)
    problems.push('view.private_metadata: at most 3000');
  if (typeof view.callback_id === 'string' && view.callback_id.length > 255)
    problems.push('view.callback_id: at most 255');
  return problems;
}
