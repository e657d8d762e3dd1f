// Report downloads. The API takes the token only in the Authorization
// header, never in a URL, so a plain <a href> to a report would be refused:
// the link fetches the file with the token and saves it from a blob.

import { getBlob } from '../app/api';
import { h } from '../app/dom';
import { t } from '../app/i18n';
import { toast } from '../app/ui';

/** reportLink is a download link for an API file (path under /api/v1). */
export function reportLink(path: string, filename: string, label: string, testid: string): HTMLAnchorElement {
  const a = h('a', { href: `/api/v1${path}`, class: 'report-link', 'data-testid': testid, 'data-report': path }, label);
  a.addEventListener('click', async (ev) => {
    ev.preventDefault();
    if (a.dataset.busy) return;
    a.dataset.busy = '1';
    a.classList.add('busy');
    try {
      const { blob, filename: served } = await getBlob(path);
      const url = URL.createObjectURL(blob);
      const save = h('a', { href: url, download: served || filename });
      document.body.append(save);
      save.click();
      save.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (e) {
      toast(`${t('report.failed')}: ${(e as Error).message}`, 'error');
    } finally {
      delete a.dataset.busy;
      a.classList.remove('busy');
    }
  });
  return a;
}
