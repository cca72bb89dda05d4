// agora studio, the Server Manager: the agent servers of the Redis's
// registry. (Not built yet: the tab says so.)
'use strict';

parts.servers = {
  async show() {
    $('server-list').textContent = 'The Server Manager is not built yet.';
  },
};
